import { describe, expect, it } from "vitest";
import { CreditMeter } from "./credit.js";

describe("CreditMeter", () => {
  it("counts what was sent and not yet credited, and never banks credit beyond what was sent", () => {
    const meter = new CreditMeter(true, 100);
    meter.sent(150);
    expect(meter.backlog).toBe(150);
    meter.credit(120);
    expect(meter.backlog).toBe(30);
    meter.credit(100); // an older credit arriving late changes nothing
    expect(meter.backlog).toBe(30);
    meter.credit(10_000);
    expect(meter.backlog).toBe(0);
    meter.sent(50);
    expect(meter.backlog).toBe(50);
  });

  it("after a wake takes the first credit as covering what was sent since, then counts from it", () => {
    const meter = new CreditMeter(false, 100);
    meter.sent(40);
    expect(meter.backlog).toBe(40);
    // The client's total includes 5,000 characters received before the object hibernated.
    meter.credit(5_030);
    expect(meter.backlog).toBe(0);
    meter.sent(300);
    meter.credit(5_130);
    expect(meter.backlog).toBe(200);
  });

  it("holds a paced write until a credit brings the backlog under the resume mark", () => {
    const meter = new CreditMeter(true, 100);
    const written: string[] = [];
    meter.sent(50);
    meter.whenDrained(() => written.push("first"));
    expect(written).toEqual(["first"]);
    meter.sent(100);
    meter.whenDrained(() => written.push("second"));
    expect(written).toEqual(["first"]);
    meter.credit(40); // backlog 110: still over the mark
    expect(written).toEqual(["first"]);
    meter.credit(60);
    expect(written).toEqual(["first", "second"]);
  });
});
