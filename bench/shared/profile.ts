// `--profile DIR` for a child-process benchmark: every child writes a V8 CPU profile.

/** `--cpu-prof` flags naming the profile `<row>.<role>.<time>.cpuprofile` in `profileDir`, or none when it is null. */
export function cpuProfileFlags(profileDir: string | null, row: string, role: string): string[] {
  if (profileDir === null) return [];
  return ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${row}.${role}.${Date.now()}.cpuprofile`];
}
