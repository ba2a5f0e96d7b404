import { z } from "zod";
import { headersSchema } from "./frames.js";

/** The body of `POST /v1/ns/<namespace>/publish`: a publish without a WebSocket. */
export const httpPublishSchema = z.object({
  channel: z.string(),
  data: z.unknown(),
  headers: headersSchema.optional(),
  id: z.string().min(1).max(128).optional(),
});
export type HttpPublish = z.infer<typeof httpPublishSchema>;
