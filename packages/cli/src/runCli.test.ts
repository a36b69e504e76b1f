import { describe, expect, it } from "vitest";
import { OptionError, UsageError } from "./io.js";
import { memoryIO } from "./memoryIO.js";
import { runCli } from "./runCli.js";
import { parseSimulateArgs } from "./simulateCommand.js";

const io = memoryIO;

describe("runCli: bad arguments give a message, the usage and exit 2, never a stack trace", () => {
  it.each([
    [[], /no command given/],
    [["upgrade"], /unknown command "upgrade"/],
    [["simulate", "--units", "zero"], /--units must be a whole number from 1 to 100 \(e\.g\. --units 5\); got "zero"/],
    [["simulate", "--units", "0"], /--units must be a whole number from 1 to 100 \(e\.g\. --units 5\); got "0"/],
    [["simulate", "--substrate", "lxd"], /--substrate must be vm or k8s \(e\.g\. --substrate k8s\); got "lxd"/],
    [
      ["simulate", "--units", "3", "--fail-unit", "3"],
      /--fail-unit must be a unit from db\/0 to db\/2, by name or number \(e\.g\. --fail-unit db\/2\); got "3"/,
    ],
    [
      ["simulate", "--units", "3", "--fail-unit", "db/3"],
      /--fail-unit must be a unit from db\/0 to db\/2.*; got "db\/3"/,
    ],
    [["simulate", "--fail-unit", "pg/1"], /--fail-unit must be a unit from db\/0 to db\/4.*; got "pg\/1"/],
    [["simulate", "--units", "1", "--fail-unit", "1"], /--fail-unit must be db\/0, the only unit/],
    [["simulate", "--colour"], /unknown option --colour/],
    [["simulate", "-u", "3"], /unknown option -u/],
    [["simulate", "--json=yes"], /--json takes no value, got "yes"/],
    [["simulate", "--units"], /--units needs a value: a whole number from 1 to 100 \(e\.g\. --units 5\)/],
    [["simulate", "--units", "--json"], /--units needs a value: a whole number from 1 to 100/],
    [["simulate", "extra"], /simulate takes no positional arguments, got "extra"/],
    [["simulate", "--", "extra"], /simulate takes no positional arguments, got "extra"/],
    [["simulate", "--rollback"], /--rollback needs --fail-unit/],
    [
      ["simulate", "--inspect-url", "http://localhost:8080"],
      /--inspect-url must be a ws:\/\/ or wss:\/\/ URL \(e\.g\. --inspect-url ws:\/\/localhost:8080\); got "http:\/\/localhost:8080"/,
    ],
    [["simulate", "--inspect-url", "localhost"], /--inspect-url must be a ws:\/\/ or wss:\/\/ URL/],
    [["simulate", "--html", ""], /--html must be a file name \(e\.g\. --html report\.html\); got ""/],
    [["simulate", "--html"], /--html needs a value: a file name/],
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

  // Node's parseArgs calls `--units -3` "ambiguous" and suggests `--units=-XYZ`: the operator meant a number, so the
  // message is ours, names the option, what it takes and an example.
  it.each([
    [
      ["--units", "-3"],
      "--units",
      "-3",
      /^charm-upgrade: --units must be a whole number from 1 to 100 \(e\.g\. --units 5\); got "-3"$/m,
    ],
    [["--units=-3"], "--units", "-3", /--units must be a whole number from 1 to 100/],
    [
      ["--seed", "-1"],
      "--seed",
      "-1",
      /^charm-upgrade: --seed must be a whole number from 0 to 4294967295 \(e\.g\. --seed 1\); got "-1"$/m,
    ],
    [
      ["--delay", "-5"],
      "--delay",
      "-5",
      /--delay must be a whole number of milliseconds from 0 to 10000 \(e\.g\. --delay 40\); got "-5"/,
    ],
    [
      ["--fail-unit", "-1"],
      "--fail-unit",
      "-1",
      /--fail-unit must be a unit from db\/0 to db\/4, by name or number \(e\.g\. --fail-unit db\/4\); got "-1"/,
    ],
    [["--units", "-2.5"], "--units", "-2.5", /--units must be a whole number/],
  ])(
    "a negative number: simulate %j gets our message, naming the option and the fix",
    async (args, option, value, message) => {
      const { cli, stderr } = io();
      expect(await runCli(["simulate", ...args], cli)).toBe(2);
      expect(stderr.text()).toMatch(message);
      expect(stderr.text()).not.toMatch(/ambiguous|argument missing|ERR_PARSE_ARGS/);
      // and the parser throws a typed error carrying the option, the value and the fix
      let thrown: unknown;
      try {
        parseSimulateArgs(args);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(OptionError);
      expect(thrown).toBeInstanceOf(UsageError);
      expect(thrown).toMatchObject({ option, value, fix: expect.stringContaining("e.g.") });
    },
  );

  it("--help prints the usage of the command and exits 0", async () => {
    const { cli, stdout } = io();
    expect(await runCli(["--help"], cli)).toBe(0);
    expect(stdout.text()).toMatch(/Commands:\n {2}simulate/);
    const sim = io();
    expect(await runCli(["simulate", "--help"], sim.cli)).toBe(0);
    expect(sim.stdout.text()).toMatch(/--fail-unit UNIT +make this unit's upgrade fail \(db\/2, or 2\)/);
    expect(sim.stdout.text()).toMatch(/--html FILE/);
    expect(sim.stdout.text()).toMatch(/--inspect-url URL .*default ws:\/\/localhost:8080/);
  });
});
