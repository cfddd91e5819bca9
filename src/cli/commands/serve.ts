// `mailroom serve`: load the config, start the server, log `ready`, reload on SIGHUP, and shut down cleanly on SIGTERM/SIGINT.
import { loadConfig } from '../../config/load.js';
import { formatListenAddress } from '../../config/schema.js';
import { applyHeapTuning } from '../../server/heap-tuning.js';
import { noMoreArgs, UsageError, type Command } from '../main.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'start every configured listener (logs on stdout: JSON lines, or --log-format text)',
  options: { 'log-format': { type: 'string' } },
  async run(ctx) {
    noMoreArgs(ctx, 0, 'mailroom serve [--config PATH] [--log-format json|text]');
    const wanted = ctx.values['log-format'];
    if (wanted !== undefined && wanted !== 'json' && wanted !== 'text') {
      throw new UsageError(`serve: --log-format must be "json" or "text" (got ${JSON.stringify(wanted)})`);
    }
    // Config errors surface here, before any log line: one line on stderr, non-zero exit.
    const config = ctx.config();
    // Before anything the server allocates: the young generation never shrinks back once grown (issue 12).
    applyHeapTuning(config.limits.heap);
    // Loaded here, not at the top: admin commands should not pay for the SMTP engine, TLS and logging.
    const { createLogger, routeProcessWarnings } = await import('../../observability/logger.js');
    const { startServer } = await import('../../server/serve.js');
    const { logReloadFailed } = await import('../../server/reload.js');
    const logger = createLogger({ format: wanted ?? config.log.format });
    // SIGHUP from the first moment (Node's default would exit): one that comes while starting is
    // applied once the server is up.
    let hangUp: (() => void) | null = null;
    let hungUpWhileStarting = false;
    process.on('SIGHUP', () => (hangUp ? hangUp() : (hungUpWhileStarting = true)));
    // Every line the server prints is JSON: Node's own warnings too (issue 8 item 10).
    routeProcessWarnings(logger);
    logger.info(
      { config: config.configPath, serverName: config.hostname, dataDir: config.dataDir },
      'starting',
    );
    const server = await startServer({ config, logger });

    const stopped = new Promise<void>((done) => {
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) {
          // A second signal while draining: the operator means it. Everything acknowledged is already durable.
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        signalled = true;
        logger.info({ signal }, 'signal received');
        server.shutdown().then(done, (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
          done();
        });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      // SIGHUP (logrotate, `systemctl reload`): re-read the same file and apply it; Node's default for
      // SIGHUP is to exit at once, which dropped every session. Once stopping, a SIGHUP is ignored.
      hangUp = () => {
        if (signalled) return;
        logger.info({ signal: 'SIGHUP' }, 'signal received: reloading the config');
        let next;
        try {
          next = loadConfig({ configPath: config.configPath ?? undefined, cwd: ctx.io.cwd, env: ctx.io.env });
        } catch (error) {
          logReloadFailed(logger, config.configPath, error);
          return;
        }
        // reload() logs its own outcome (config-reloaded or config-reload-failed).
        server.reload(next).catch(() => undefined);
      };
      if (hungUpWhileStarting) hangUp();
    });

    const listening = Object.fromEntries(
      Object.entries(server.addresses).map(([name, list]) => [name, list.map(formatListenAddress)]),
    );
    logger.info({ listening }, 'ready');
    await stopped;
  },
};
