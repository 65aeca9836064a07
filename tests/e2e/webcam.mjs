// The web app end to end in Debian's headless Chromium: a fake camera plays a video of a real
// face, and the page must find it, stream it to the server and show the right emotion; then a
// photo goes through the upload form; then a camera that sees no face must say so and send
// nothing. Prints one JSON line of figures; exits non-zero, saying why, when anything is wrong.
//
// usage: node webcam.mjs <page url> <camera .y4m> <upload photo> <expected emotion> <screenshot dir> <no-face .y4m>

import { chromium } from 'playwright-core';

const [url, video, photo, expected, shots, noFaceVideo] = process.argv.slice(2);
if (!noFaceVideo) {
  console.error('usage: node webcam.mjs <url> <video.y4m> <photo> <expected emotion> <screenshot dir> <no-face.y4m>');
  process.exit(2);
}

const SUSTAIN_S = 10;
const MIN_RESULTS_PER_S = 10;

const problems = [];
const consoleErrors = [];

/** Chromium with a fake camera that plays `camera`. */
function launch(camera) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${camera}`,
    ],
  });
}

/** A page of `browser` at `url` with the camera allowed; its console errors go to `consoleErrors`. */
async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['camera']);
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => consoleErrors.push(`request failed: ${r.url()}`));
  await page.goto(url, { waitUntil: 'load' });
  return page;
}

const browser = await launch(video);

/** Waits for `predicate` over the page's `window.__emotion`, or fails saying `what`. */
async function waitFor(page, what, predicate, timeoutMs = 30_000) {
  try {
    await page.waitForFunction(predicate, null, { timeout: timeoutMs, polling: 100 });
  } catch {
    const state = await page.evaluate(() => JSON.stringify(window.__emotion ?? null));
    throw new Error(`${what} within ${timeoutMs / 1000} s; page state: ${state}`);
  }
}

let figures = {};
try {
  const page = await openPage(browser);
  await waitFor(page, 'the camera did not start', () => window.__emotion?.cameraStarted === true);
  // (On failure waitFor prints the page state, whose cameraError says why the camera failed.)
  await waitFor(page, 'MediaPipe found no face', () => window.__emotion.faceFound === true, 60_000);
  await waitFor(page, 'no result came over the WebSocket', () => window.__emotion.results > 0);
  await waitFor(page, 'the timeline drew nothing', () => window.__emotion.timelinePoints > 1);

  // Sustained rate: results counted over SUSTAIN_S seconds, the bars sampled along the way.
  const barWidths = async () =>
    page.$$eval('#bars [data-emotion] .fill', (fills) => fills.map((f) => f.style.width));
  const start = await page.evaluate(() => ({
    results: window.__emotion.results,
    detections: window.__emotion.detections,
    t: performance.now(),
  }));
  const bars = [await barWidths()];
  const shownEmotions = new Map();
  const rtts = [];
  const timeline = [];
  for (let s = 0; s < SUSTAIN_S; s++) {
    await page.waitForTimeout(1000);
    const now = await page.evaluate(() => ({
      emotion: document.querySelector('#emotion-name')?.textContent?.trim(),
      rtt: window.__emotion.rttMs,
      points: window.__emotion.timelinePoints,
    }));
    shownEmotions.set(now.emotion, (shownEmotions.get(now.emotion) ?? 0) + 1);
    rtts.push(now.rtt);
    timeline.push(now.points);
    bars.push(await barWidths());
  }
  const end = await page.evaluate(() => ({
    results: window.__emotion.results,
    t: performance.now(),
    detections: window.__emotion.detections,
    dropped: window.__emotion.droppedFrames,
    errors: window.__emotion.errors,
    model: window.__emotion.lastResult?.model_used,
    socket: window.__emotion.socketState,
  }));
  const seconds = (end.t - start.t) / 1000;
  const resultsPerSecond = (end.results - start.results) / seconds;
  const shown = [...shownEmotions.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];

  if (resultsPerSecond < MIN_RESULTS_PER_S) {
    problems.push(`${resultsPerSecond.toFixed(1)} results/s over ${seconds.toFixed(1)} s, under ${MIN_RESULTS_PER_S}`);
  }
  if (shown !== expected) {
    problems.push(`the page showed ${JSON.stringify(Object.fromEntries(shownEmotions))}, expected mostly ${expected}`);
  }
  if (bars.some((b) => b.length !== 7)) problems.push(`expected 7 bars, saw ${bars.map((b) => b.length)}`);
  if (new Set(bars.map((b) => b.join())).size < 2) problems.push(`the bars never changed: ${bars[0]}`);
  if (!(timeline.at(-1) > timeline[0])) problems.push(`the timeline did not grow: ${timeline}`);
  if (end.errors.length) problems.push(`error messages: ${end.errors.join('; ')}`);
  if (end.socket !== 'open') problems.push(`the socket is ${end.socket}`);

  await page.screenshot({ path: `${shots}/webcam.png` });

  // The upload path, with a photo.
  await page.setInputFiles('#upload-file', photo);
  await page.click('#upload-submit');
  await waitFor(page, 'no upload result', () => window.__emotion.uploadResult !== null);
  const uploaded = await page.evaluate(() => ({
    shown: document.querySelector('#upload-emotion')?.textContent?.trim(),
    result: window.__emotion.uploadResult,
  }));
  if (uploaded.result?.success !== true) problems.push(`upload failed: ${JSON.stringify(uploaded.result)}`);
  if (uploaded.shown !== expected) problems.push(`the upload showed ${uploaded.shown}, expected ${expected}`);
  await page.screenshot({ path: `${shots}/upload.png`, fullPage: true });

  // A phone screen: the same page must still lay out and keep streaming.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${shots}/phone.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) problems.push(`the page is ${overflow}px wider than a 390px phone screen`);

  rtts.sort((a, b) => a - b);
  figures = {
    results_per_second: Number(resultsPerSecond.toFixed(1)),
    rtt_ms_median: Number(rtts[Math.floor(rtts.length / 2)]?.toFixed(1)),
    rtt_ms_max_of_medians: Number(rtts.at(-1)?.toFixed(1)),
    detections_per_second: Number(((end.detections - start.detections) / seconds).toFixed(1)),
    dropped_frames: end.dropped,
    shown,
    model_used: end.model,
    upload: uploaded.shown,
  };
} catch (e) {
  problems.push(e.message);
} finally {
  await browser.close();
}

// No face in view: the page says so and sends nothing.
const faceless = await launch(noFaceVideo);
try {
  const page = await openPage(faceless);
  await waitFor(page, 'the camera did not start (no-face video)', () => window.__emotion?.cameraStarted === true);
  await waitFor(page, 'the detector never ran on the no-face video', () => window.__emotion.detections >= 20, 60_000);
  const seen = await page.evaluate(() => ({
    faceFound: window.__emotion.faceFound,
    results: window.__emotion.results,
    errors: window.__emotion.errors,
    status: document.querySelector('#face-status')?.textContent?.trim(),
    emotion: document.querySelector('#emotion-name')?.textContent?.trim(),
  }));
  if (seen.faceFound) problems.push('MediaPipe found a face in the no-face video');
  if (seen.results !== 0) problems.push(`${seen.results} results came back with no face in view: frames were sent`);
  if (seen.status !== 'No face in view') problems.push(`with no face the page said ${JSON.stringify(seen.status)}`);
  if (seen.errors.length) problems.push(`error messages with no face: ${seen.errors.join('; ')}`);
  await page.screenshot({ path: `${shots}/no-face.png` });
  figures.no_face = seen.status;
} catch (e) {
  problems.push(e.message);
} finally {
  await faceless.close();
}

if (consoleErrors.length) problems.push(`console errors: ${consoleErrors.join(' | ')}`);
console.log(JSON.stringify(figures));
if (problems.length) {
  console.error(`web app end to end FAILED:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
