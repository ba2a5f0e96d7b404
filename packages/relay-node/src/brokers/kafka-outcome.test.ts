import { MultipleErrors, NetworkError, ProtocolError, TimeoutError } from "@platformatic/kafka";
import { PublishUncertainError } from "@pubsubbud/relay-core";
import { describe, expect, it } from "vitest";
import { mayHaveAppended, publishError } from "./kafka-outcome.js";
import { NotSentError, UnansweredError } from "./kafka-produce.js";

const connectFailed = () => new NetworkError("Connection to 127.0.0.1:9092 failed.");
const lostInFlight = () => new NetworkError("Connection closed");

describe("a failed Kafka produce", () => {
  it("is a refusal only when no request left or the broker said it did not append", () => {
    expect(mayHaveAppended(connectFailed())).toBe(false);
    expect(mayHaveAppended(new TimeoutError("Connection to 127.0.0.1:9092 timed out."))).toBe(
      false,
    );
    expect(mayHaveAppended(new ProtocolError("NOT_LEADER_OR_FOLLOWER"))).toBe(false);
    expect(mayHaveAppended(new NotSentError("not sent", { cause: lostInFlight() }))).toBe(false);
    expect(mayHaveAppended(new MultipleErrors("gave up", [connectFailed(), connectFailed()]))).toBe(
      false,
    );
  });

  it("is uncertain after a timeout, a connection lost in flight, a request unanswered by the deadline, or any retry that was", () => {
    expect(mayHaveAppended(new TimeoutError("Request timed out"))).toBe(true);
    expect(mayHaveAppended(lostInFlight())).toBe(true);
    expect(mayHaveAppended(new ProtocolError("REQUEST_TIMED_OUT"))).toBe(true);
    expect(mayHaveAppended(new ProtocolError("NOT_ENOUGH_REPLICAS_AFTER_APPEND"))).toBe(true);
    expect(mayHaveAppended(new MultipleErrors("gave up", [lostInFlight(), connectFailed()]))).toBe(
      true,
    );
    expect(mayHaveAppended(new Error("kafka acknowledged without an offset"))).toBe(true);
    expect(mayHaveAppended(new UnansweredError("no answer by the deadline"))).toBe(true);
  });

  it("throws PublishUncertainError when uncertain and the refusal itself otherwise", () => {
    const uncertain = publishError(new TimeoutError("Request timed out"));
    expect(uncertain).toBeInstanceOf(PublishUncertainError);
    expect(uncertain.cause).toBeInstanceOf(TimeoutError);
    const refused = connectFailed();
    expect(publishError(refused)).toBe(refused);
  });
});
