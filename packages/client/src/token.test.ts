import { describe, expect, it } from "vitest";
import { TokenKeeper } from "./token.js";

describe("TokenKeeper", () => {
  it("calls the token function once for everyone waiting while it runs (single-flight)", async () => {
    let calls = 0;
    let release: (token: string) => void = () => {};
    const keeper = new TokenKeeper(() => {
      calls++;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    });
    const connect = keeper.fetch();
    const renew = keeper.fetch();
    release("t1");
    expect(await Promise.all([connect, renew])).toEqual(["t1", "t1"]);
    expect(calls).toBe(1);
    const next = keeper.fetch();
    release("t2");
    expect(await next).toBe("t2");
    expect(calls).toBe(2);
  });

  it("lets the next caller try again after the token function failed", async () => {
    let calls = 0;
    const keeper = new TokenKeeper(async () => {
      if (++calls === 1) throw new Error("down");
      return "t2";
    });
    await expect(keeper.fetch()).rejects.toThrow("down");
    expect(await keeper.fetch()).toBe("t2");
  });

  it("knows a refused token when the function hands it out again", async () => {
    const keeper = new TokenKeeper(async () => "same");
    await keeper.fetch();
    expect(keeper.refused).toBe(false);
    keeper.refuse();
    await keeper.fetch();
    expect(keeper.refused).toBe(true);
  });
});
