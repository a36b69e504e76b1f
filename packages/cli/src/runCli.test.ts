import { describe, expect, it } from "vitest";
import { memoryIO } from "./memoryIO.js";
import { runCli } from "./runCli.js";

const io = memoryIO;

describe("runCli: bad arguments give a message, the usage and exit 2, never a stack trace", () => {
  it.each([
    [[], /no command given/],
    [["upgrade"], /unknown command "upgrade"/],
    [["simulate", "--units", "zero"], /--units must be a whole number, got "zero"/],
    [["simulate", "--units", "0"], /--units must be between 1 and 100, got 0/],
    [["simulate", "--substrate", "lxd"], /--substrate must be vm or k8s, got "lxd"/],
    [["simulate", "--seed", "-3"], /--seed/],
    [["simulate", "--units", "3", "--fail-unit", "3"], /--fail-unit must be between 0 and 2, got 3/],
    [["simulate", "--colour"], /Unknown option '--colour'/],
    [["simulate", "--units"], /--units/],
    [["simulate", "extra"], /positional/],
    [["simulate", "--rollback"], /--rollback needs --fail-unit/],
    [["simulate", "--inspect-url", "http://localhost:8080"], /--inspect-url must be a ws:\/\/ or wss:\/\/ URL, got "http:\/\/localhost:8080"/],
    [["simulate", "--inspect-url", "localhost"], /--inspect-url must be a ws:\/\/ or wss:\/\/ URL/],
    [["simulate", "--html", ""], /--html needs a file name/],
    [["simulate", "--html"], /--html/],
    [["check-deps", "only-one.json"], /check-deps takes two files/],
    [["check-deps", "a.json", "b.json", "--strict"], /unknown option --strict/],
  ])("%j", async (argv, message) => {
    const { cli, stdout, stderr } = io();
    expect(await runCli(argv, cli)).toBe(2);
    expect(stderr.text()).toMatch(message);
    expect(stderr.text()).toMatch(/Usage: charm-upgrade/);
    expect(stderr.text()).not.toMatch(/\n\s+at /);
    expect(stdout.text()).toBe("");
  });

  it("--help prints the usage of the command and exits 0", async () => {
    const { cli, stdout } = io();
    expect(await runCli(["--help"], cli)).toBe(0);
    expect(stdout.text()).toMatch(/Commands:\n {2}simulate/);
    const sim = io();
    expect(await runCli(["simulate", "--help"], sim.cli)).toBe(0);
    expect(sim.stdout.text()).toMatch(/--fail-unit ID/);
    expect(sim.stdout.text()).toMatch(/--html FILE/);
    expect(sim.stdout.text()).toMatch(/--inspect-url URL .*default ws:\/\/localhost:8080/);
  });
});
