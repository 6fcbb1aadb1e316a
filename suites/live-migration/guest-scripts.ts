/**
 * The suite's own shell scripts, run in the guest with `sh -s` (data only ever in positional arguments).
 * POSIX sh and coreutils only: nothing the image must have beyond a shell, dd, sha256sum and date.
 */

/** boot_id, uptime, interfaces with their MACs, IPv4 addresses. */
export const STATE_SCRIPT = `
printf 'boot_id %s\\n' "$(cat /proc/sys/kernel/random/boot_id)"
printf 'uptime %s\\n' "$(cut -d' ' -f1 /proc/uptime)"
for dev in /sys/class/net/*; do
  name=\${dev##*/}
  [ "$name" = lo ] && continue
  printf 'if %s %s\\n' "$name" "$(cat "$dev/address" 2>/dev/null)"
done
if command -v ip >/dev/null 2>&1; then
  ip -o -4 addr show | while read -r _ name _ address _; do printf 'addr %s %s\\n' "$name" "$address"; done
fi
`;

/**
 * Starts the workload of a move in the background and returns: $1 folder, $2 token, $3 MiB of memory to
 * keep dirtying, $4 seconds between rewrites, $5 the stop file.
 * - dirty memory: random data in tmpfs, rewritten in place (the same pages, at the lowest priority so the
 *   guest's own services keep their share) until the stop file appears;
 * - writer: appends 64 KiB chunks (`yes "imgtest-<token>-<n>" | head -c 65536`) to <folder>/data, each
 *   fsynced before its number and time go to <folder>/progress; `done` when it stops.
 */
export const WORKLOAD_START_SCRIPT = `
dir=$1 token=$2 dirty_mib=$3 interval=$4 stop=$5
rm -rf "$dir" && mkdir -p "$dir" || exit 1
shm=/dev/shm
{ [ -d "$shm" ] && [ -w "$shm" ]; } || shm=$dir
src="$shm/imgtest-dirty-src-$token"
dst="$shm/imgtest-dirty-$token"
if [ "$dirty_mib" -gt 0 ]; then
  dd if=/dev/urandom of="$src" bs=1M count="$dirty_mib" status=none || exit 1
  cp "$src" "$dst" || exit 1
  ( while [ ! -e "$stop" ]; do nice -n 19 dd if="$src" of="$dst" bs=1M conv=notrunc status=none; sleep "$interval"; done
    rm -f "$src" "$dst" ) </dev/null >/dev/null 2>&1 &
fi
( i=0
  while [ ! -e "$stop" ]; do
    i=$((i + 1))
    yes "imgtest-$token-$(printf %08d "$i")" | head -c 65536 | dd of="$dir/data" oflag=append conv=notrunc,fsync status=none || break
    printf '%d %s\\n' "$i" "$(date +%s.%N)" >> "$dir/progress"
    sleep 0.5
  done
  echo done >> "$dir/progress" ) </dev/null >/dev/null 2>&1 &
echo started
`;

/** The held session: a beat every 0.2 s until the stop file ($1) appears, then a goodbye. */
export const HEARTBEAT_SCRIPT = `
stop=$1 i=0
while [ ! -e "$stop" ]; do
  i=$((i + 1))
  printf 'hb %d %s\\n' "$i" "$(date +%s.%N)"
  sleep 0.2
done
printf 'hb-end %d\\n' "$i"
`;

/** Stops the workload ($1 folder, $2 stop file), waits for the writer's last chunk, prints its progress and the file's sha256, removes the data (the stop file stays: late loops still see it). */
export const WORKLOAD_STOP_SCRIPT = `
dir=$1 stop=$2
touch "$stop"
i=0
while ! grep -qx done "$dir/progress" 2>/dev/null && [ "$i" -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
echo '--- progress'
cat "$dir/progress" 2>/dev/null
echo '--- sha256'
sha256sum "$dir/data" 2>/dev/null
rm -f "$dir/data" "$dir/progress"
`;

/** Writes $1 into the kernel log (run with sudo). */
export const KMSG_SCRIPT = `printf '%s\\n' "$1" > /dev/kmsg`;

/** Splits WORKLOAD_STOP_SCRIPT's output into the progress file and the sha256sum line. */
export function splitStopOutput(output: string): { progress: string; sha256: string } {
  const [, afterProgress = ''] = output.split('--- progress\n');
  const [progress = '', sha256 = ''] = afterProgress.split('--- sha256\n');
  return { progress, sha256 };
}
