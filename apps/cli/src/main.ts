#!/usr/bin/env node
// The `pipeline` bin.
import { runCli } from './program';

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
);
