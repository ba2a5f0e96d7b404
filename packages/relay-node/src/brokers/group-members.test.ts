/** A broker's group members as its close sees them (GroupMembers of shared.ts), without a server. */
import { expect, it } from "vitest";
import { GroupMembers } from "./shared.js";

it("stops every member still running, and each member once however often it is stopped", async () => {
  const members = new GroupMembers();
  const left: string[] = [];
  const a = await members.add(async () => void left.push("a"));
  await members.add(async () => void left.push("b"));
  const c = await members.add(async () => void left.push("c"));
  await c();
  await members.stopAll();
  await a();
  expect(left).toEqual(["c", "a", "b"]);
});

it("ends a member that finished joining after the close, and refuses it", async () => {
  const members = new GroupMembers();
  const left: string[] = [];
  await members.stopAll();
  await expect(members.add(async () => void left.push("late"))).rejects.toThrow(/closed/);
  expect(left).toEqual(["late"]);
});
