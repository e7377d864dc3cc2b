import { rssMb } from '../lib/server-process.ts';
import { prepareTarget, startLoadgenFor, type TargetName } from '../lib/targets.ts';

/** Idle-connection result: how many connected, how fast, and the server's RSS once settled. */
export interface IdleResult {
  target: TargetName;
  planned: number;
  connected: number;
  connectMs: number;
  /** After start-up and set-up (users, conversations), before any WebSocket connection. */
  rssBeforeConnectMb: number;
  rssAfterConnectMb: number;
  rssSettledMb: number;
  /** 15 s later (20 s after connecting): V8's memory reducer has run its GC by then. */
  rssLaterMb: number;
  idleCpuPct: number;
  closedWhileIdle: number;
}

/**
 * Opens `connections` idle connections (authenticated on Chorus: Bearer on the upgrade, users
 * shared by many connections), waits `settleSeconds` answering pings, and samples the server's
 * RSS from /proc, then again 15 s later. Server on core 0, generator on core 1.
 */
export async function runIdle(target: TargetName, options: { connections: number; settleSeconds: number }): Promise<IdleResult> {
  const perRoom = 1000;
  const prepared = await prepareTarget(target, {
    core: 0,
    rooms: Math.ceil(options.connections / perRoom),
    perRoom,
    usersPerRoom: 5,
    publishers: false,
  });
  const loadgen = await startLoadgenFor(prepared, 1);
  try {
    const rssBeforeConnectMb = rssMb(prepared.server.pid);
    const connect = await loadgen.command('connect 200 180');
    const idle = await loadgen.command(`idle ${options.settleSeconds}`);
    const later = await loadgen.command('idle 15');
    process.stderr.write(
      `  ${target}: ${connect.ready}/${connect.planned} idle connections, RSS ${idle.serverRssMb} MB, ${later.serverRssMb} MB 15 s later\n`,
    );
    return {
      target,
      planned: Number(connect.planned),
      connected: Number(idle.ready),
      connectMs: Number(connect.ms),
      rssBeforeConnectMb,
      rssAfterConnectMb: Number(connect.serverRssMb),
      rssSettledMb: Number(idle.serverRssMb),
      rssLaterMb: Number(later.serverRssMb),
      idleCpuPct: Number(idle.serverCpuPct),
      closedWhileIdle: Number(idle.closedWhileIdle) + Number(later.closedWhileIdle),
    };
  } finally {
    await loadgen.stop();
    await prepared.server.stop();
  }
}
