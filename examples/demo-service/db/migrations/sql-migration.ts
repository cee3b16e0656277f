/** A migration as plain SQL: applied and reverted inside one transaction. */
export interface SqlMigration {
  name: string;
  up: string;
  down: string;
}
