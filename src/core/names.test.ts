import { describe, expect, it } from 'vitest';
import { checkAliasName, checkFilePath, checkModelName } from './names.js';

describe('names', () => {
  it('accepts model names of 1-128 URL-safe characters', () => {
    expect(checkModelName('fraud-scorer_v2.1')).toBe('fraud-scorer_v2.1');
    for (const bad of ['', 'a'.repeat(129), 'has space', '..', '.', 'naïve', 'a/b', 'a\u0000b']) {
      expect(() => checkModelName(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    }
  });
  it('keeps aliases distinct from version numbers', () => {
    expect(checkAliasName('champion')).toBe('champion');
    expect(() => checkAliasName('3')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
  });
  it('never lets a file path escape the version', () => {
    expect(checkFilePath('weights/model.onnx')).toBe('weights/model.onnx');
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\b', 'a\u0000b', 'a//b', './a', 'a/.', '']) {
      expect(() => checkFilePath(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'INVALID_PATH' }));
    }
  });
});
