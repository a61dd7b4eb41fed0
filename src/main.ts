import { runCli } from './commands/cli.ts';

void runCli();
