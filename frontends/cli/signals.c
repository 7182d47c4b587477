/* billing-cli: signal handling (one sigwait thread; flags and a wake-up pipe). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

/*
 * Signals.  SIGINT, SIGTERM and SIGWINCH are blocked in every thread (the
 * batch's worker threads inherit the mask, so no database read is ever
 * interrupted) and taken by one thread with sigwait(), which sets flags and
 * wakes the REPL through a pipe.
 */
volatile int cli_interrupted;
volatile int cli_line_interrupted;
volatile int cli_winch;
static volatile int cancellable, line_mode, in_repl, quiet;
static int wake_pipe[2] = { -1, -1 };

void cli_cancellable(bool on) { cancellable = on; }
void cli_sig_line_mode(bool on) { line_mode = on; }
void cli_sig_quiet(bool on) { quiet = on; }
int cli_sig_fd(void) { return wake_pipe[0]; }

static void say(const char *s) { (void)!write(STDERR_FILENO, s, strlen(s)); }
static void wake(void) { (void)!write(wake_pipe[1], "!", 1); }

static void die_of(int sig)
{
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	signal(sig, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	for (;;) {
		int sig;
		if (sigwait(set, &sig))
			continue;
		if (sig == SIGWINCH) {
			cli_winch = 1;
			wake();
		} else if (quiet) {
			/* an editor has the terminal: the signal is its business */
		} else if (line_mode) { /* REPL, editing a line: Ctrl-C drops it, SIGTERM quits */
			cli_line_interrupted = sig == SIGINT ? 1 : 2;
			wake();
		} else if (!cli_interrupted && (cancellable || (in_repl && sig == SIGINT))) {
			cli_interrupted = 1;
			say(cancellable ? "\nbilling-cli: stopping cleanly (Ctrl-C again to quit at once)\n"
					: "\nbilling-cli: this command cannot be interrupted; Ctrl-C again quits "
					  "billing-cli\n");
		} else {
			die_of(sig);
		}
	}
	return NULL;
}

void cli_signals_install(bool repl)
{
	static sigset_t set;
	in_repl = repl;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(wake_pipe) == 0) {
		fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK);
		fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
		fcntl(wake_pipe[0], F_SETFD, FD_CLOEXEC);
		fcntl(wake_pipe[1], F_SETFD, FD_CLOEXEC);
	}
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, signal_thread, &set))
		pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* no thread: default actions */
	pthread_attr_destroy(&a);
}

void cli_signals_child(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGWINCH);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
