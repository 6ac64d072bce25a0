/**
 * PostgreSQL introspection limited to the connection's own schema. Kysely's migrator asks the
 * introspector for every table of the database; on a server where other schemas come and go
 * (several registries or test runs sharing one database), that catalog-wide query fails with
 * "schema ... does not exist" when one is dropped while it runs. The migrator only needs to know
 * whether its own tables exist, and they live in the current schema.
 */
import { type DatabaseIntrospector, type DatabaseMetadata, type Kysely, PostgresDialect, type SchemaMetadata, type TableMetadata, sql } from 'kysely';

class CurrentSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<any>, private readonly inner: DatabaseIntrospector) {}

  getSchemas(): Promise<SchemaMetadata[]> {
    return this.inner.getSchemas();
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; type: string }>`
      SELECT table_name AS name, table_schema AS schema, table_type AS type
      FROM information_schema.tables WHERE table_schema = current_schema()`.execute(this.db);
    return rows.map((r) => ({ name: r.name, schema: r.schema, isView: r.type === 'VIEW', columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

export class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db, super.createIntrospector(db));
  }
}
