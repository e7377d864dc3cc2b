import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * What the load generator connects: rooms (a Chorus conversation id, or null on the baselines
 * where the room is a query parameter), connections (room index, Bearer token or null, and the
 * server port when not the generator's `--port`: a cluster's nodes) and publishers (connection
 * index sending into a room index).
 */
export interface Plan {
  rooms: Array<string | null>;
  connections: Array<{ room: number; token: string | null; port?: number }>;
  publishers: Array<{ connection: number; room: number }>;
}

/**
 * Writes `plan` in the generator's line format to a new temporary file and returns its path.
 * The file is removed when this process exits.
 */
export function writePlan(plan: Plan): string {
  const lines: string[] = [];
  plan.rooms.forEach((id, index) => lines.push(`room ${index} ${id ?? '-'}`));
  for (const connection of plan.connections) {
    lines.push(`conn ${connection.room} ${connection.token ?? '-'}${connection.port ? ` ${connection.port}` : ''}`);
  }
  for (const publisher of plan.publishers) lines.push(`pub ${publisher.connection} ${publisher.room}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'chorus-bench-plan-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'plan.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * `rooms` rooms of `perRoom` connections, the first connection of each room publishing into it.
 * `tokenFor(room, member)` gives each connection's token (null on the baselines).
 */
export function roomsPlan(
  roomIds: Array<string | null>,
  perRoom: number,
  tokenFor: (room: number, member: number) => string | null,
  publishers = true,
): Plan {
  const plan: Plan = { rooms: roomIds, connections: [], publishers: [] };
  roomIds.forEach((_id, room) => {
    if (publishers) plan.publishers.push({ connection: plan.connections.length, room });
    for (let member = 0; member < perRoom; member++) plan.connections.push({ room, token: tokenFor(room, member) });
  });
  return plan;
}
