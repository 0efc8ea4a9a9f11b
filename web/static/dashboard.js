// The live dashboard: the catalog, the live feed on its resumable connection, replay, and the
// consumer groups (with an admin token).

import { Catalog } from "./catalog.js";
import { Feed } from "./feed.js";
import { Groups } from "./groups.js";
import { LiveStream } from "./live-stream.js";
import { Replay } from "./replay.js";

const STATES = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };
const indicator = document.getElementById("connection");
const catalog = new Catalog(document.getElementById("catalog"));
const feed = new Feed(document.getElementById("live"));
const stream = new LiveStream(feed.position, {
  onEvent(event) {
    feed.add(event);
    catalog.apply(event);
  },
  onCaughtUp(position) {
    feed.reached(position);
    catalog.refresh(); // whatever changed while the page was away from the stream
  },
  onState(state) {
    indicator.dataset.state = state;
    indicator.textContent = STATES[state];
  },
  onReset(stale, head) {
    feed.restarted(stale, head);
  },
});
new Replay(document.getElementById("replay"), () => stream.position);
new Groups(document.getElementById("groups"));
catalog.refresh();
stream.start();
