#!/usr/bin/env node
// The shm-host command: everything happens in dist/cli/main.js.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
