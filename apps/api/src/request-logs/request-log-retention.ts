const DELETE_CHUNK = 10_000;

export interface RequestLogPruner {
  deleteRequestLogsOlderThan(cutoff: Date, chunk: number): Promise<number>;
  deleteTrafficRollupsOlderThan(cutoff: Date): Promise<number>;
}

/** Deletes rows older than the retention in chunks, so no single statement holds locks on millions of rows. */
export async function deleteExpiredRequestLogs(
  pruner: RequestLogPruner,
  retentionDays: number,
  now = new Date(),
): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 60 * 60 * 1000);
  // The charts cover what the log still holds: their rollups expire with it (a few thousand rows a day, one statement).
  await pruner.deleteTrafficRollupsOlderThan(cutoff);
  let total = 0;
  for (;;) {
    const deleted = await pruner.deleteRequestLogsOlderThan(cutoff, DELETE_CHUNK);
    total += deleted;
    if (deleted < DELETE_CHUNK) return total;
  }
}
