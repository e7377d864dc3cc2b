/**
 * glibc malloc: a fixed 128 KiB mmap and trim threshold. glibc raises both at run time each time
 * a large mmapped block is freed (up to 32 MiB / 64 MiB); after that, freed memory below them
 * stays in the main heap and in every thread's arena instead of going back to the OS. Chorus frees
 * such blocks early (PGlite's data bundle and WASM compilation, argon2's 19 MiB buffers).
 */
const mallocTunables = 'glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072';

/**
 * V8's young generation: 8 MiB semi-spaces instead of Node 24's default, which lets new space grow
 * to 128 MB of committed (resident) memory under a burst of allocations such as 10,000 connecting
 * sockets, and keeps it afterwards. `--expose-gc` lets the CLI collect start-up garbage once
 * (`releaseStartupGarbage` in cli.ts).
 *
 * V8's old generation: `--heap-growing-percent=50` fixes the factor by which the old-generation
 * limit grows after a full GC to 1.5 (V8 otherwise picks 1.1–4 from its GC and mutator speeds).
 * After the burst of 10,000 connecting sockets the old space held 95 MB for 70 MB live (the rest
 * garbage promoted during the handshakes, released only by V8's memory reducer 10–15 s later);
 * with 1.5 it held 81 MB for 80 MB. Idle bench (10,000 connections, PGlite), 6 runs each: RSS
 * 263–303 MB → 259–273 MB; connect time and quick fan-out throughput unchanged.
 */
const v8Flags = ['--max-semi-space-size=8', '--heap-growing-percent=50', '--expose-gc'];

/**
 * Re-executes the current process (same pid, arguments and stdio) with the memory settings above,
 * which only apply from process start: `GLIBC_TUNABLES` in the environment and `v8Flags` before the
 * caller's own Node flags (so a flag given explicitly wins). Does nothing off Linux, when
 * `process.execve` is unavailable, or when `GLIBC_TUNABLES` is already set (to any value, even
 * empty: the operator's choice wins, and that is also how the re-executed process knows to stop).
 * Call first thing in the entry point: it does not return when it re-executes.
 * See docs/decisions/0006-process-memory-settings.md.
 */
export function reexecWithMemorySettings(): void {
  if (process.platform !== 'linux' || process.env.GLIBC_TUNABLES !== undefined) return;
  if (typeof process.execve !== 'function') return;
  const args = [process.execPath, ...v8Flags, ...process.execArgv, ...process.argv.slice(1)];
  process.execve(process.execPath, args, { ...process.env, GLIBC_TUNABLES: mallocTunables });
}
