#!/usr/bin/env node
/**
 * Entry point of the `charm-upgrade` command: everything is in {@link runCli}, which tests call in-process.
 */
import { runCli } from "./runCli.js";

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
