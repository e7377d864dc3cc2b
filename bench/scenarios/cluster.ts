import { randomBytes } from 'node:crypto';
import { createBenchDatabase, createGroup, registerUsers, runPool, startChorus, type ChorusServer } from '../lib/chorus.ts';
import { Loadgen, type LoadgenResult } from '../lib/loadgen.ts';
import { roomsPlan, writePlan } from '../lib/plan.ts';
import { searchRate, type FanoutOptions } from './fanout.ts';

/** One layout measured: how many nodes, how many connections came up, the best passing step and every step. */
export interface ClusterLayoutResult {
  nodes: number;
  connected: number;
  best: LoadgenResult | null;
  steps: LoadgenResult[];
}

/** `cluster` scenario: one node (in-process fan-out) against two api nodes fanning out through Redis. */
export interface ClusterResult {
  oneNode: ClusterLayoutResult;
  twoNodes: ClusterLayoutResult;
  /** Two nodes' deliveries/s at p99 under the bound over one node's; null when either found no passing step. */
  ratio: number | null;
}

/**
 * The fan-out search of `runFanout`, run twice on the same rooms: first one Chorus node on
 * PostgreSQL with in-process fan-out, then two `--role api` nodes on one PostgreSQL database and
 * Redis, each room's connections alternating between the nodes (the publisher on the first), so
 * every message reaches half its room through a Redis hop. Both layouts get the same CPU: every
 * node is pinned to core 0, the generator to core 1 (PostgreSQL and Redis are not pinned). On a
 * 2-core machine two nodes cannot scale up: the ratio is the cost of the Redis hop.
 * Needs `adminUrl` (PostgreSQL, CREATE DATABASE allowed) and `redisUrl`.
 */
export async function runCluster(options: FanoutOptions, adminUrl: string, redisUrl: string): Promise<ClusterResult> {
  const oneNode = await measureLayout(1, options, adminUrl, redisUrl);
  const twoNodes = await measureLayout(2, options, adminUrl, redisUrl);
  const rate = (result: ClusterLayoutResult) => (result.best ? Number(result.best.deliveredPerSec) : 0);
  return { oneNode, twoNodes, ratio: rate(oneNode) > 0 && rate(twoNodes) > 0 ? rate(twoNodes) / rate(oneNode) : null };
}

async function measureLayout(
  nodes: 1 | 2,
  options: FanoutOptions,
  adminUrl: string,
  redisUrl: string,
): Promise<ClusterLayoutResult> {
  const database = await createBenchDatabase(adminUrl);
  const servers: ChorusServer[] = [];
  let loadgen: Loadgen | undefined;
  try {
    const env = { DATABASE_URL: database.url, CHORUS_JWT_SECRET: randomBytes(24).toString('hex') };
    if (nodes === 1) servers.push(await startChorus(0, env));
    else
      for (let index = 0; index < 2; index++)
        servers.push(await startChorus(0, { ...env, REDIS_URL: redisUrl }, ['--role', 'api']));
    const rooms = Math.ceil(options.connections / options.roomSize);
    const usersPerRoom = 4;
    const users = await registerUsers(servers[0]!.baseUrl, rooms * usersPerRoom);
    const conversationIds: string[] = new Array(rooms);
    await runPool([...conversationIds.keys()], 4, async (room) => {
      const roomUsers = users.slice(room * usersPerRoom, (room + 1) * usersPerRoom);
      const members = roomUsers.slice(1).map((user) => ({ type: 'user' as const, id: user.id }));
      conversationIds[room] = await createGroup(servers[0]!.baseUrl, roomUsers[0]!, members, `cluster room ${room}`);
    });
    const plan = roomsPlan(
      conversationIds,
      options.roomSize,
      (room, member) => users[room * usersPerRoom + (member % usersPerRoom)]!.token,
    );
    // Member m of each room connects to node m % nodes: the publisher (member 0) to the first.
    plan.connections.forEach((connection, index) => {
      connection.port = servers[(index % options.roomSize) % servers.length]!.port;
    });
    loadgen = await Loadgen.start({
      proto: 'chorus',
      port: servers[0]!.port,
      path: '/api/v1/ws',
      planFile: writePlan(plan),
      serverPid: servers[0]!.pid,
      core: 1,
      selfEcho: true,
    });
    const { connect, best, steps } = await searchRate(loadgen, `cluster ${nodes} node${nodes === 1 ? '' : 's'}`, options, true);
    return { nodes, connected: Number(connect.ready), best, steps };
  } finally {
    await loadgen?.stop();
    for (const server of servers) await server.stop();
    await database.drop();
  }
}
