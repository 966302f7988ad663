#!/usr/bin/env node
// The `pop3` command. Everything lives in run.ts; this file only starts it.
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2));
