/**
 * The web UI end to end, in a real browser (Debian's Chromium) against a real server: the
 * release story a reviewer and a risk officer live through, every step checked on the page
 * and then against the API. The second suite seeds the demo story with the CLI, checks what
 * a viewer may do, and saves the screenshots the README shows (into docs/screenshots when
 * MODELGATE_UPDATE_SCREENSHOTS=1, else a temporary directory).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { HAVE_CHROMIUM, exactly, openBrowser, shows, signIn, type Browser } from './helpers/browser.js';
import { startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

const run = promisify(execFile);
const MODEL = 'card-fraud-scorer';
// 128 characters: the longest name the registry accepts must not push the layout sideways.
const LONG = `${'very-long-model-name-'.repeat(6)}abcdefg-0123456789-x`.slice(0, 128);

/** Follows a link of the main navigation. */
async function nav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
}

/**
 * Text whose colour against its background is below WCAG AA (4.5:1, or 3:1 for large text),
 * for every visible element that holds text on the page (disabled controls are exempt).
 */
async function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
    };
    const background = (el: Element | null): number[] => {
      for (; el; el = el.parentElement) {
        const c = rgb(getComputedStyle(el).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3]! > 0.5)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad: string[] = [];
    for (const el of document.querySelectorAll('body *:not(svg *):not(option)')) {
      const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim());
      if (!own || (el as HTMLButtonElement).disabled || el.closest('.sr-only')) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none' || (el as HTMLElement).offsetParent === null) continue;
      const [a, b] = [lum(rgb(style.color)), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName.toLowerCase()} "${el.textContent!.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
    }
    return bad;
  });
}

/** Whether the page scrolls sideways: a long name that breaks the layout makes it so. */
async function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
}

describe.skipIf(!HAVE_CHROMIUM)('web UI: a release from registration to rollback', () => {
  let t: TestServer;
  let b: Browser;
  let rita: ModelgateClient;
  let ritaToken: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    b = await openBrowser();
    await t.admin.createUser({ username: 'rita', role: 'approver' });
    ritaToken = (await t.admin.createToken({ username: 'rita', name: 'browser' })).token;
    rita = new ModelgateClient({ url: t.url, token: ritaToken });
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('walks the whole story in the browser, and the API agrees at every step', async () => {
    const { page } = b;
    // Registered through the API, as a training pipeline would.
    await t.admin.createModel({ name: MODEL, description: 'Scores card transactions', tags: { team: 'risk' }, risk_tier: 'high' });
    await t.admin.createModel({ name: LONG, description: 'A model whose name is as long as names get' });
    await t.admin.createModel({ name: 'churn-predictor', risk_tier: 'low' });
    for (const [auc, lr] of [[0.91, '0.05'], [0.94, '0.03']] as const) {
      await t.admin.createVersion(MODEL, {
        files: [await uploadFile(t.admin, 'model.onnx', `weights ${auc}`)],
        metrics: { auc, recall: 0.7 }, params: { learning_rate: lr, max_depth: '6' },
        model_card: '# Card fraud scorer\n\nGradient-boosted trees.\n\n- trained on **card-transactions**',
        lineage: { datasets: [{ name: 'card-transactions', version: `2026-${auc === 0.91 ? '08' : '10'}`, role: 'train' }], code: { repo: 'git@example.com:risk/fraud.git', commit: 'a1b2c3d' } },
      });
    }
    await t.ship(MODEL, 1, 'first release');

    // Log in.
    await signIn(page, t.url, t.adminToken);
    await shows(page.getByText('Signed in as'), 'admin');

    // Find the model: the server filters by name prefix and risk tier.
    await page.getByLabel('Name starts with').fill('card-');
    await page.getByLabel('Risk tier').selectOption('high');
    const row = page.getByRole('row', { name: new RegExp(MODEL) });
    await row.waitFor();
    // The unfiltered list shows the model too: wait for the filtered answer, header + the one match.
    await expect.poll(() => page.getByRole('table').getByRole('row').count()).toBe(2);
    await row.getByRole('link', { name: MODEL }).click();
    await page.getByRole('heading', { level: 1, name: MODEL }).waitFor();
    await shows(page.locator('.production'), 'version 1');

    // Compare two versions: metrics side by side with a chart, and the params diff.
    await page.getByLabel('Compare version 1').check();
    await page.getByLabel('Compare version 2').check();
    await page.getByRole('button', { name: /Compare selected \(2\)/ }).click();
    await page.getByRole('heading', { name: `Compare ${MODEL}: v1, v2` }).waitFor();
    await page.getByRole('img', { name: /Bar chart of 2 metrics across 2 versions/ }).waitFor();
    const aucRow = page.getByRole('row', { name: /^auc/ });
    await shows(aucRow, '0.91');
    await shows(aucRow, '0.94');
    await page.getByText('1 of 2 params differ: learning_rate.').waitFor();
    await shows(page.getByRole('row', { name: /learning_rate/ }), 'differs');

    // Request a promotion of version 2 from its page.
    await page.getByRole('link', { name: MODEL }).first().click();
    await page.getByRole('link', { name: 'version 2' }).click();
    await page.getByRole('heading', { name: `${MODEL} · version 2` }).waitFor();
    await shows(page.locator('.markdown h3'), exactly('Card fraud scorer'));
    // Download a file: the SDK checks the bytes against the digest before the browser saves them.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download model.onnx' }).click()]);
    expect(download.suggestedFilename()).toBe('model.onnx');
    expect(await readFile((await download.path())!, 'utf8')).toBe('weights 0.94');
    await shows(page.getByRole('status'), 'digest verified');
    await page.getByText('Request a promotion').click();
    await page.getByLabel('Target').selectOption('production');
    await page.getByLabel('Reason').fill('better recall on the October holdout');
    await page.getByRole('button', { name: 'Request promotion' }).click();
    await shows(page.getByRole('status').filter({ hasText: 'Promotion requested' }), 'approvals inbox');
    const [pending] = (await t.admin.listPromotions({ status: 'pending', model: MODEL })).promotions;
    expect(pending).toMatchObject({ version: 2, target: 'production', requested_by: 'admin' });

    // The admin created the version and asked for it: separation of duties refuses, plainly.
    await nav(page, 'Approvals');
    await page.getByRole('tab', { name: 'All pending' }).click();
    const card = page.getByRole('article').filter({ hasText: `${MODEL} version 2 → production` });
    await card.getByRole('button', { name: 'Approve' }).click();
    const refusal = card.getByRole('alert');
    await shows(refusal, 'Refused by separation of duties');
    await shows(refusal, 'admin created the version and cannot approve it');
    await shows(refusal, 'SELF_APPROVAL_FORBIDDEN');
    expect((await t.admin.getPromotion(pending!.id)).status).toBe('pending');

    // An approver signs in, finds it waiting for her, and approves it with a comment.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, t.url, ritaToken);
    await nav(page, 'Approvals');
    expect(await page.getByRole('tab', { name: 'Waiting for me' }).getAttribute('aria-selected')).toBe('true');
    const mine = page.getByRole('article').filter({ hasText: `${MODEL} version 2 → production` });
    await mine.getByLabel(/Comment/).fill('holdout report checked');
    await mine.getByRole('button', { name: 'Approve' }).click();
    await shows(mine.getByRole('status'), exactly(`Approved: version 2 is now production.`));

    // See it in production.
    await mine.getByRole('link', { name: MODEL }).click();
    await shows(page.locator('.production'), 'version 2');
    await shows(page.locator('.production'), 'approved by rita');
    expect((await rita.resolve(MODEL, 'production'))!.resolved.version).toBe(2);

    // Roll back from the timeline: it asks for a reason, and for confirmation.
    await page.getByRole('link', { name: 'Stage and alias timeline' }).click();
    await page.getByText('Roll back production').click();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByLabel('Reason').fill('v2 flags 3x more EU transactions');
    await page.getByRole('button', { name: 'Roll back' }).click();
    await shows(page.getByRole('status').filter({ hasText: 'Rolled' }), exactly(`Rolled ${MODEL} production back from version 2 to version 1.`));
    await shows(page.getByRole('list', { name: /Timeline/ }).getByRole('listitem').first(), 'via rollback by rita');
    expect((await rita.resolve(MODEL, 'production'))!.resolved.version).toBe(1);

    // Every step is in the audit log, and the chain verifies.
    await nav(page, 'Audit log');
    await page.getByRole('status').filter({ hasText: 'Chain verified' }).waitFor();
    await page.getByLabel(/Resource/).fill(`models/${MODEL}`);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/resource=/);
    const actions = page.locator('table.audit tbody tr td:nth-child(4)');
    await shows(actions.first(), exactly('rollback.applied'));
    const seen = await actions.allTextContents();
    for (const action of ['model.created', 'version.created', 'promotion.requested', 'promotion.approved', 'promotion.applied', 'version.stage_changed', 'rollback.applied']) {
      expect(seen, action).toContain(action);
    }
    const rollbackRow = page.locator('table.audit tbody tr').first();
    await shows(rollbackRow, 'rita');
    await shows(rollbackRow, 'v2 flags 3x more EU transactions');

    // A name as long as names get wraps instead of pushing the page sideways.
    await page.goto(`${t.url}/models/${LONG}`);
    await page.getByRole('heading', { level: 1, name: LONG }).waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    await page.goto(`${t.url}/models`);
    await page.getByRole('link', { name: LONG }).waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    expect(b.errors).toEqual([]);
  });

  it('is usable from the keyboard: skip link, labelled controls, focus moves to the new page', async () => {
    const { page } = b;
    await page.goto(`${t.url}/models`);
    await page.getByRole('link', { name: MODEL }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    // Every form control on the main pages has a label a screen reader can announce.
    for (const path of ['/models', `/models/${MODEL}/versions/2`, `/models/${MODEL}/history`, '/approvals', '/audit', '/impact', '/webhooks']) {
      await page.goto(t.url + path);
      await page.locator('main h1').first().waitFor();
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML.slice(0, 80)));
      expect(unlabelled, path).toEqual([]);
      expect(await lowContrast(page), path).toEqual([]);
    }
    // Following a link with Enter moves focus to the new page's content.
    await page.goto(`${t.url}/models`);
    await page.getByRole('link', { name: MODEL }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: MODEL }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'main');
  });
});

describe.skipIf(!HAVE_CHROMIUM)('web UI: the demo story, a viewer, and the screenshots', () => {
  let t: TestServer;
  let b: Browser;
  let shots: string;
  let tokens: Record<string, string>;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { allowWebhookHosts: '127.0.0.1' });
    b = await openBrowser();
    shots = process.env.MODELGATE_UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : await mkdtemp(join(tmpdir(), 'modelgate-shots-'));
    await mkdir(shots, { recursive: true });
    const { stdout } = await run('node', ['bin/modelgate.js', '--json', 'demo'], { env: { ...process.env, MODELGATE_URL: t.url, MODELGATE_TOKEN: t.adminToken } });
    const result = JSON.parse(stdout) as { users: { username: string; token: string }[]; models: string[] };
    tokens = Object.fromEntries(result.users.map((u) => [u.username, u.token]));
    expect(result.models).toEqual(['fraud-scorer', 'credit-limit', 'credit-limit-eu', 'churn-predictor']);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
    if (!shots.startsWith('docs/')) await rm(shots, { recursive: true, force: true });
  });

  it('refuses to seed a registry that already has models', async () => {
    const failed = await run('node', ['bin/modelgate.js', 'demo'], { env: { ...process.env, MODELGATE_URL: t.url, MODELGATE_TOKEN: t.adminToken } }).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain('REGISTRY_NOT_EMPTY');
  });

  it('shows a viewer everything but no button to approve, reject or roll back', async () => {
    const { page } = b;
    await signIn(page, t.url, tokens.vic!);
    await page.getByText('(read only)').waitFor();
    await nav(page, 'Approvals');
    const card = page.getByRole('article').filter({ hasText: 'churn-predictor version 2 → production' });
    await shows(card, 'Requested by dana');
    expect(await page.getByRole('tab', { name: 'Waiting for me' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Reject' }).count()).toBe(0);
    await page.goto(`${t.url}/models/fraud-scorer/history`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.getByText('Roll back production').count()).toBe(0);
    await page.goto(`${t.url}/models/fraud-scorer/versions/1`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.getByText('Request a promotion').count()).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  it('tells the demo story on every main page, and saves a screenshot of each', async () => {
    const { page } = b;
    await signIn(page, t.url, tokens.rita!);
    const shoot = async (path: string, name: string, ready: () => Promise<unknown>, fullPage = true) => {
      await page.goto(t.url + path);
      await ready();
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
    };
    await shoot('/models', 'models', () => page.getByRole('link', { name: 'credit-limit-eu' }).waitFor());
    await shoot('/models/fraud-scorer', 'model', () => shows(page.locator('.production'), 'rolled back by rita'));
    await shoot('/models/fraud-scorer/versions/2', 'version', () => page.getByRole('heading', { name: 'fraud-scorer v2' }).waitFor());
    await shoot('/models/fraud-scorer/compare?v=1&v=2&v=3', 'compare', () => page.getByRole('img', { name: /Bar chart/ }).waitFor());
    await shoot('/approvals', 'approvals', () => page.getByRole('article').filter({ hasText: 'churn-predictor' }).waitFor());
    await shoot('/models/fraud-scorer/history', 'timeline', () => page.getByRole('list', { name: /Timeline/ }).getByRole('listitem').nth(2).waitFor());
    await shoot('/models/credit-limit-eu/versions/1/lineage', 'lineage', () => page.getByRole('img', { name: /Lineage graph/ }).waitFor());
    await shoot('/impact?dataset=loan-applications%402026-09', 'impact', () => shows(page.getByRole('status'), '2 version(s) affected'));
    await shoot('/audit', 'audit', () => page.getByRole('status').filter({ hasText: 'Chain verified' }).waitFor(), false);
    // The rejected request and its reason are one click away.
    await page.goto(`${t.url}/approvals?view=rejected`);
    await shows(page.getByRole('article').filter({ hasText: 'credit-limit version 2' }), 'under-represents applicants over 60');
    // Webhooks are the admins' (and model owners'): the delivery log shows every attempt.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, t.url, t.adminToken);
    const hooks = await t.admin.listWebhooks();
    expect(hooks).toHaveLength(1);
    await shoot(`/webhooks/${hooks[0]!.id}`, 'webhooks', () => shows(page.getByRole('row'), /promotion\.requested/));
    expect(b.errors).toEqual([]);
  });
});
