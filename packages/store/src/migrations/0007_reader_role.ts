import { type Kysely, sql } from "kysely"

// `pipetrail sql` runs users' statements, and on a superuser connection a read-only transaction
// still lets a statement read server files, signal backends or run programs. This creates a
// `pipetrail_reader` role (no login) with SELECT on the store's tables and views and nothing
// else, and makes the migrating user a member, so `sql` can `SET LOCAL ROLE` to it and drop every
// other privilege for the statement. Roles belong to the cluster, not the database: the role is
// created once (another database's migration may be creating it at the same moment), and a
// migrating user that may not create or grant roles skips that step; the grants then follow
// whoever owns the tables. Default privileges cover the tables and views later migrations add.

const ignoring = (statement: string) =>
  sql.raw(`
  do $$ begin
    ${statement};
  exception when duplicate_object or unique_violation or insufficient_privilege or invalid_grant_operation then null;
  end $$`)

export const up = async (db: Kysely<any>): Promise<void> => {
  await ignoring(`
    if not exists (select from pg_roles where rolname = 'pipetrail_reader') then
      create role pipetrail_reader nologin;
    end if`).execute(db)
  await ignoring("grant pipetrail_reader to current_user").execute(db)
  await sql`
    do $$ begin
      if exists (select from pg_roles where rolname = 'pipetrail_reader') then
        execute 'grant usage on schema ' || quote_ident(current_schema()) || ' to pipetrail_reader';
        execute 'grant select on all tables in schema ' || quote_ident(current_schema()) || ' to pipetrail_reader';
        execute 'alter default privileges in schema ' || quote_ident(current_schema()) || ' grant select on tables to pipetrail_reader';
      end if;
    end $$`.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  // The role may serve other databases of the cluster: only this database's grants are taken back.
  await sql`
    do $$ begin
      if exists (select from pg_roles where rolname = 'pipetrail_reader') then
        execute 'alter default privileges in schema ' || quote_ident(current_schema()) || ' revoke select on tables from pipetrail_reader';
        execute 'revoke select on all tables in schema ' || quote_ident(current_schema()) || ' from pipetrail_reader';
        execute 'revoke usage on schema ' || quote_ident(current_schema()) || ' from pipetrail_reader';
      end if;
    end $$`.execute(db)
}
