/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signals: every thread blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1; the main
 * thread takes them synchronously with sigwaitinfo, so no handler ever runs
 * in the middle of a device. SIGHUP reopens the log file and waits on;
 * SIGUSR1 is how a protocol thread says its instance ended.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vtrustd.h"

static sigset_t waited;

void vtd_signals_block(void)
{
	sigemptyset(&waited);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGINT);
	sigaddset(&waited, SIGHUP);
	sigaddset(&waited, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &waited, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void vtd_signals_notify_instance(void)
{
	kill(getpid(), SIGUSR1);
}

enum vtd_wake vtd_signals_wait(void)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&waited, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			vt_err("sigwaitinfo: %s", strerror(errno));
			return VTD_WAKE_STOP;
		}
		switch (sig) {
		case SIGHUP: {
			int r = vt_log_reopen();
			if (r < 0)
				vt_err("SIGHUP: cannot reopen the log: %s", strerror(-r));
			else
				vt_notice("SIGHUP: log reopened");
			break;
		}
		case SIGUSR1:
			return VTD_WAKE_INSTANCE;
		default:
			vt_notice("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			return VTD_WAKE_STOP;
		}
	}
}
