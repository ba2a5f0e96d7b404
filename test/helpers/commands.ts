import { execFileSync } from "node:child_process";

/** True when `program` is on the PATH. */
export function commandExists(program: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
