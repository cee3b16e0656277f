/** The migration shapes of protocol v1 (docs/protocol.md, "Migrations"), built by the server, read by the CLI. */

export type MigrationDirection = 'up' | 'down';

/** migrations.plan: what up/down would apply, in order, and the hash to send back as expectedPlan. */
export interface MigrationPlan {
  direction: MigrationDirection;
  to: string | null;
  pending: string[];
  planHash: string;
}

export interface MigrationRef {
  name: string;
}

/** migrations.status. */
export interface MigrationStatus {
  applied: MigrationRef[];
  pending: MigrationRef[];
}
