// Reads .ics files with ical.js (the parser of Thunderbird and many web calendars), as a calendar
// app does: every event's start and end as instants, each TZID resolved through the file's own
// VTIMEZONE; each VTIMEZONE's changes as ical.js expands them (the instant of each change, with the
// offsets before and after); and, for the local times asked, the instants that VTIMEZONE gives them.
//
//   node ical_read.mjs TOOLS_DIR < {"FILE": {"local": ["2027-03-14T01:30:00", ...]}, ...}
//
// prints {"FILE": {"events": [{uid, summary, description, start, end, start_zone}],
//                  "zones": {TZID: {"changes": [[unix, offset before, offset after], ...],
//                                   "local": [["2027-03-14T01:30:00", unix], ...]}}}}
//
// (ical.js's own conversion of a UTC time into a zone looks the offset up with the UTC wall time
// as if it were local, so it is off near changes whatever the VTIMEZONE says: kewisch/ical.js#847.
// Its reading of the VTIMEZONE itself, and local times to instants, are what a file can get right.)
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

const [tools] = process.argv.slice(2);
const ICAL = (await import(pathToFileURL(path.join(tools, 'node_modules', 'ical.js', 'dist', 'ical.js')).href)).default;
const asked = JSON.parse(fs.readFileSync(0, 'utf8'));

const out = {};
for (const [file, probes] of Object.entries(asked)) {
  const calendar = new ICAL.Component(ICAL.parse(fs.readFileSync(file, 'utf8')));
  const events = calendar.getAllSubcomponents('vevent').map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      summary: event.summary,
      description: event.description,
      start: event.startDate.toUnixTime(),
      end: event.endDate.toUnixTime(),
      start_zone: event.startDate.zone.tzid,
    };
  });
  const zones = {};
  for (const vtimezone of calendar.getAllSubcomponents('vtimezone')) {
    const zone = new ICAL.Timezone(vtimezone);
    const local = (probes.local || []).map((text) => {
      const time = ICAL.Time.fromDateTimeString(text);
      time.zone = zone;
      return [text, time.toUnixTime()];
    });
    // `changes` is filled as the zone is first used (above, or here); each holds the change's UTC time.
    zone.utcOffset(ICAL.Time.fromDateTimeString('2000-01-01T00:00:00'));
    const changes = zone.changes.map((c) => [
      Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) / 1000,
      c.prevUtcOffset,
      c.utcOffset,
    ]);
    zones[zone.tzid] = {changes, local};
  }
  out[file] = {events, zones};
}
process.stdout.write(JSON.stringify(out));
