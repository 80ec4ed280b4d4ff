// Runs Lighthouse on each URL asked, one after the other, as a person auditing the page in Chrome's
// DevTools does: Lighthouse's defaults, a mid-range phone on a slow 4G link.
//
//   node lighthouse_run.mjs TOOLS_DIR CHROMIUM FLAGS_JSON < {"urls": [...], "attempts": 3}
//
// prints {"URL": [{"scores": {category: 0..100}, "failed": ["category: audit: title (value) items"],
//                  "benchmark": host's BenchmarkIndex, "cpu": CPU slowdown used}, ...]}
// (one entry a run) or {"URL": {"error": "..."}} when Lighthouse could not audit the page.
//
// Performance is timed on this machine, and the suite shares it with other work. Lighthouse's 4x
// CPU slowdown assumes a fast desktop host; its throttling guide says to derive the slowdown from
// the host's BenchmarkIndex (measured at the start of every run) instead, as done here from the
// second run on (never more than 4x). A page whose performance is under 100 is audited again, up to
// `attempts` runs: timing on a shared machine varies from run to run. Accessibility, best
// practices and SEO do not depend on timing: every run of them counts.
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

const [tools, chromium, flagsJson] = process.argv.slice(2);
const modules = path.join(tools, 'node_modules');
const load = async (file) => import(pathToFileURL(path.join(modules, file)).href);
const lighthouse = (await load('lighthouse/core/index.js')).default;
const {launch} = await load('chrome-launcher/dist/index.js');
const {urls, attempts} = JSON.parse(fs.readFileSync(0, 'utf8'));
const DEFAULT_CPU = 4; // Lighthouse's mobile default

// The multiplier for a BenchmarkIndex, from Lighthouse's docs/throttling.md ("CPU throttling") and
// the calculator it links (patrickhulce/lighthouse-cpu-throttling-calculator).
function cpuSlowdown(benchmark) {
  if (!Number.isFinite(benchmark)) return DEFAULT_CPU;
  let multiplier;
  if (benchmark >= 1300) multiplier = 3 + (benchmark - 1300) / 233;
  else if (benchmark >= 800) multiplier = 2 + (benchmark - 800) / 500;
  else multiplier = 1 + Math.max(0, benchmark - 150) / 650;
  return Math.min(DEFAULT_CPU, Math.round(multiplier * 100) / 100);
}

function summary(report, cpu) {
  const scores = {};
  const failed = [];
  for (const [id, category] of Object.entries(report.categories)) {
    scores[id] = category.score === null ? null : Math.round(category.score * 100);
    for (const ref of category.auditRefs) {
      const audit = report.audits[ref.id];
      if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
        const items = (audit.details?.items || []).slice(0, 3).map((item) => JSON.stringify(item).slice(0, 300));
        failed.push(`${id}: ${ref.id}: ${audit.title} (${audit.displayValue ?? audit.score}) ${items.join(' ')}`);
      }
    }
  }
  return {scores, failed, benchmark: report.environment.benchmarkIndex, cpu};
}

const out = {};
let cpu = DEFAULT_CPU; // then what the last run measured the host at
for (const url of urls) {
  // A Chromium of its own (chrome-launcher gives each a new profile): each page is a first visit,
  // as for a reader who follows a link to it; a browser that had asked the host for /favicon.ico
  // before would not ask again.
  const chrome = await launch({chromePath: chromium, chromeFlags: JSON.parse(flagsJson), logLevel: 'silent'});
  try {
    const runs = [];
    while (runs.length < attempts) {
      const flags = {port: chrome.port, logLevel: 'error', output: 'json', throttling: {cpuSlowdownMultiplier: cpu}};
      const report = (await lighthouse(url, flags)).lhr;
      if (report.runtimeError) {
        out[url] = {error: `${report.runtimeError.code}: ${report.runtimeError.message}`};
        break;
      }
      runs.push(summary(report, cpu));
      cpu = cpuSlowdown(report.environment.benchmarkIndex);
      if (runs.at(-1).scores.performance === 100) break;
    }
    out[url] ??= runs;
  } finally {
    await chrome.kill();
  }
}
process.stdout.write(JSON.stringify(out));
