import path from 'node:path';
import { createGroup, registerUsers, runPool, startChorus, startChorusOnPostgres } from './chorus.ts';
import { Loadgen } from './loadgen.ts';
import { loopDelayReader, type LoopDelayReader } from './loop-delay.ts';
import { roomsPlan, writePlan, type Plan } from './plan.ts';
import { listeningLine, startPinnedNode, type ServerProcess } from './server-process.ts';

/**
 * The servers compared in one run. `chorus` stores in embedded PGlite; `chorus-pg` (only when
 * BENCH_DATABASE_URL names a PostgreSQL server) in PostgreSQL, to separate PGlite's fixed memory
 * from the per-connection cost. `raw-ws-sized` is the raw `ws` server publishing payloads padded
 * so its frames are as long as Chorus's `message` frames: the Node ceiling for the bytes the
 * protocol carries, which separates the frame's cost from the rest of Chorus's.
 */
export type TargetName = 'raw-ws' | 'socket.io' | 'chorus' | 'chorus-pg' | 'raw-ws-sized';
export const targetNames: readonly TargetName[] = ['raw-ws', 'socket.io', 'chorus', 'chorus-pg', 'raw-ws-sized'];

/**
 * Padding that makes a raw `ws` fan-out frame (206 bytes with the generator's default 160) as
 * long as Chorus's `message` frame in the same scenario (~456 bytes in the compact wire form of
 * docs/protocol.md, ~661 in the full shape before it; both are reported as "frame B").
 */
const chorusSizedPadBytes = 160 + (456 - 206);

/** A started server with a connection plan for `rooms × perRoom`, ready for the load generator. */
export interface PreparedTarget {
  server: ServerProcess;
  proto: 'ws' | 'sio' | 'chorus';
  path: string;
  plan: Plan;
  /** Whether the publishing connection receives its own message (true for all three here). */
  selfEcho: boolean;
  /** Padding of each published payload, when not the generator's default. */
  padBytes?: number;
  setupMs: number;
  /** The server's p99 event-loop delay (ms) since the previous call. */
  loopDelay: LoopDelayReader;
}

const serversDir = path.join(import.meta.dirname, '..', 'servers');

/**
 * Starts `name` pinned to `core` and lays out `rooms` rooms of `perRoom` connections, the first
 * of each room publishing. For Chorus, users are registered through the API (`usersPerRoom` per
 * room, each holding several connections: a user may have many) and each room is a group
 * conversation of its users; with `publishers: false` the connections stay idle.
 */
export async function prepareTarget(
  name: TargetName,
  options: { core: number; rooms: number; perRoom: number; usersPerRoom: number; publishers: boolean },
): Promise<PreparedTarget> {
  const started = Date.now();
  if (name === 'raw-ws' || name === 'raw-ws-sized' || name === 'socket.io') {
    const raw = name !== 'socket.io';
    const script = path.join(serversDir, raw ? 'raw-ws-server.ts' : 'socketio-server.ts');
    const server = await startPinnedNode({ core: options.core, script, isReady: listeningLine });
    const plan = roomsPlan(
      Array.from({ length: options.rooms }, () => null),
      options.perRoom,
      () => null,
      options.publishers,
    );
    return {
      server,
      proto: raw ? 'ws' : 'sio',
      path: raw ? '/' : '/socket.io/',
      plan,
      selfEcho: true,
      ...(name === 'raw-ws-sized' ? { padBytes: chorusSizedPadBytes } : {}),
      setupMs: Date.now() - started,
      loopDelay: loopDelayReader(`http://127.0.0.1:${server.port}`, 'baseline'),
    };
  }
  const adminUrl = process.env.BENCH_DATABASE_URL;
  if (name === 'chorus-pg' && !adminUrl) throw new Error('chorus-pg needs BENCH_DATABASE_URL');
  const server = name === 'chorus-pg' ? await startChorusOnPostgres(options.core, adminUrl!) : await startChorus(options.core);
  try {
    const users = await registerUsers(server.baseUrl, options.rooms * options.usersPerRoom);
    const conversationIds: string[] = new Array(options.rooms);
    await runPool([...conversationIds.keys()], 4, async (room) => {
      const roomUsers = users.slice(room * options.usersPerRoom, (room + 1) * options.usersPerRoom);
      const members = roomUsers.slice(1).map((user) => ({ type: 'user' as const, id: user.id }));
      conversationIds[room] = await createGroup(server.baseUrl, roomUsers[0]!, members, `bench room ${room}`);
    });
    // Member m of a room connects as that room's user m % usersPerRoom; member 0 publishes.
    const tokenFor = (room: number, member: number) =>
      users[room * options.usersPerRoom + (member % options.usersPerRoom)]!.token;
    const plan = roomsPlan(conversationIds, options.perRoom, tokenFor, options.publishers);
    return {
      server,
      proto: 'chorus',
      path: '/api/v1/ws',
      plan,
      selfEcho: true,
      setupMs: Date.now() - started,
      loopDelay: loopDelayReader(server.baseUrl, 'chorus'),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Starts the load generator on `core` against a prepared target, with its plan written to a file. */
export function startLoadgenFor(prepared: PreparedTarget, core: number): Promise<Loadgen> {
  return Loadgen.start({
    proto: prepared.proto,
    port: prepared.server.port,
    path: prepared.path,
    planFile: writePlan(prepared.plan),
    serverPid: prepared.server.pid,
    core,
    selfEcho: prepared.selfEcho,
    ...(prepared.padBytes === undefined ? {} : { padBytes: prepared.padBytes }),
  });
}
