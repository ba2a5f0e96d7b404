// Socket.IO on the same workload: rooms per channel, websocket transport only; wildcard rooms
// ("user.*") are added to the emit by prefix so the pattern workload has an equivalent.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { serve } from "./common.mjs";

const http = createServer();
const io = new Server(http, {
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
});
const wildcards = new Set();
io.on("connection", (socket) => {
  socket.on("sub", (channel, ack) => {
    if (channel.endsWith("*")) wildcards.add(channel);
    socket.join(channel);
    ack();
  });
  socket.on("pub", (channel, data) => {
    const rooms = [channel];
    for (const w of wildcards) if (channel.startsWith(w.slice(0, -1))) rooms.push(w);
    io.to(rooms).emit("m", channel, data);
  });
});
http.listen(0, "127.0.0.1", () => serve(http.address().port));
