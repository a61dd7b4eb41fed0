import { runCli } from './cli.ts';

void runCli();
