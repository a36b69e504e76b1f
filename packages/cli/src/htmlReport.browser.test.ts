import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { machineStates } from "@charm-upgrade/core";
import type { Browser, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import type { CliIO, OutputStream } from "./io.js";
import { runCli } from "./runCli.js";

/** Debian's Chromium (`apt-get install -y chromium`); never a browser downloaded by Playwright. */
const CHROMIUM = "/usr/bin/chromium";
/** Flags that work on this project's machines (no network, no GPU, root). Playwright adds a fresh profile itself. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** The screenshot, kept as a test artefact (test-artifacts/ is gitignored). */
const SCREENSHOT = fileURLToPath(new URL("../../../test-artifacts/report.png", import.meta.url));

function collector(): OutputStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY: false, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join("") };
}

describe("the HTML report in a real browser (headless Chromium)", () => {
  let browser: Browser | null = null;
  const dir = mkdtempSync(join(tmpdir(), "charm-upgrade-report-"));
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("renders every unit's lane and every machine state, with no request leaving the page; screenshot in test-artifacts/report.png", async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: this test needs a real headless browser. Install Debian's: apt-get update && apt-get install -y chromium`,
      );
    }
    const file = join(dir, "report.html");
    const stdout = collector();
    const stderr = collector();
    const io: CliIO = { stdout, stderr, sleep: async () => {} };
    expect(await runCli(["simulate", "--units", "4", "--seed", "1", "--html", file], io)).toBe(0);
    expect(stdout.text()).toContain(`HTML report: ${file}`);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 20_000 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(10_000);
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });

    const units = ["db/0", "db/1", "db/2", "db/3"];
    expect(await page.locator('[data-testid^="lane-"]').count()).toBe(units.length);
    for (const unit of units) {
      const lane = page.getByTestId(`lane-${unit}`);
      expect(await lane.isVisible(), `lane of ${unit}`).toBe(true);
      expect(await lane.textContent()).toContain(unit);
      expect(await lane.locator("rect.segment").count(), `state segments of ${unit}`).toBeGreaterThanOrEqual(3);
      expect(await page.getByTestId(`grant-${unit}`).isVisible(), `grant marker of ${unit}`).toBe(true);
    }
    expect(await page.getByTestId("lane-db/0").textContent()).toContain("★ leader");

    const states = machineStates();
    expect(await page.locator('[data-testid^="state-"]').count()).toBe(states.length);
    for (const state of states) {
      const box = page.getByTestId(`state-${state}`);
      expect(await box.isVisible(), `state ${state}`).toBe(true);
      expect((await box.textContent())?.trim()).toContain(state);
    }
    // the chart lays the states out in a row, left to right in definition order, none on top of another
    const xs: number[] = [];
    for (const state of states)
      xs.push((await page.getByTestId(`state-${state}`).locator("rect").boundingBox())?.x ?? Number.NaN);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(xs).size).toBe(states.length);

    expect(await page.getByTestId("outcome").textContent()).toBe("upgraded");
    expect(requests.filter((url) => !url.startsWith("file:"))).toEqual([]);
    expect(errors).toEqual([]);

    mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it("a halted Kubernetes rehearsal: the outcome is not painted the upgrade's green; its pause and partition moves are drawn; screenshot in test-artifacts/report-halted.png", async () => {
    const page = await render(["--units", "4", "--substrate", "k8s", "--fail-unit", "db/1"], "halted.html");
    const background = (testId: string) =>
      page.getByTestId(testId).evaluate((node) => getComputedStyle(node).backgroundColor);
    expect(await page.getByTestId("outcome").textContent()).toBe("halted");
    const halted = await background("outcome");
    expect(halted).toBe("rgb(180, 83, 9)");
    expect(halted).not.toBe(UPGRADED_GREEN);
    expect(await page.getByTestId("expectation").textContent()).toBe("as expected");

    expect(await page.getByTestId("pause").count()).toBe(1);
    expect(await page.getByTestId("pause").isVisible()).toBe(true);
    // the pause spans some width of the time axis, inside the application band
    const pause = await page.getByTestId("pause").locator("rect").boundingBox();
    const band = await page.getByTestId("application-band").boundingBox();
    expect(
      pause && band && pause.width > 2 && pause.y >= band.y && pause.y + pause.height <= band.y + band.height,
    ).toBe(true);
    // k8s: the partition moved to 3 at pre-upgrade-check, then 2 and 1 as units went, and stopped at db/1's failure
    expect(await page.getByTestId("partition-move").locator("text").allTextContents()).toEqual(["3", "2", "1"]);
    for (const move of await page.getByTestId("partition-move").all()) expect(await move.isVisible()).toBe(true);
    expect(await page.getByTestId("partition-line").isVisible()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOT, "..", "report-halted.png"), fullPage: true });
  });

  it("the colour of a successful upgrade is green, as rendered", async () => {
    const page = await render(["--units", "2", "--substrate", "vm"], "upgraded.html");
    expect(await page.getByTestId("outcome").evaluate((node) => getComputedStyle(node).backgroundColor)).toBe(
      UPGRADED_GREEN,
    );
  });

  async function render(args: readonly string[], name: string): Promise<Page> {
    if (!existsSync(CHROMIUM))
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get update && apt-get install -y chromium`);
    const file = join(dir, name);
    const io: CliIO = { stdout: collector(), stderr: collector(), sleep: async () => {} };
    expect(await runCli(["simulate", ...args, "--html", file], io)).toBe(0);
    browser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 20_000 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(10_000);
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
    return page;
  }
});

/** The browser's `getComputedStyle`, for functions evaluated in the page (the project's types have no DOM). */
declare const getComputedStyle: (element: unknown) => { readonly backgroundColor: string };

/** `#15803d`, the badge of `upgraded`, as the browser computes it. */
const UPGRADED_GREEN = "rgb(21, 128, 61)";
