/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The optional /metrics endpoint: a loopback-only listening socket and a
 * request-line parser (the control thread does the I/O). One request per
 * connection, answered and closed; anything but GET|HEAD /metrics is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vtrustd.h"

enum vtd_http_result vtd_http_parse(const char *buf, size_t len, size_t max, bool *head)
{
	/* Headers end with an empty line; we only read the request line. */
	const char *end = NULL;
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			end = buf + i;
			break;
		}
		if (i + 3 < len && !strncmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i + 1; /* at the request line's '\n' */
			break;
		}
	}
	if (!end)
		return len >= max ? VTD_HTTP_BAD_REQUEST : VTD_HTTP_INCOMPLETE;
	const char *eol = memchr(buf, '\n', (size_t)(end - buf) + 1);
	if (!eol)
		return VTD_HTTP_BAD_REQUEST;
	size_t llen = (size_t)(eol - buf);
	if (llen && buf[llen - 1] == '\r')
		llen--;
	char line[256];
	if (llen >= sizeof(line))
		return VTD_HTTP_BAD_REQUEST;
	memcpy(line, buf, llen);
	line[llen] = '\0';
	char *sp1 = strchr(line, ' ');
	if (!sp1)
		return VTD_HTTP_BAD_REQUEST;
	*sp1 = '\0';
	char *target = sp1 + 1;
	char *sp2 = strchr(target, ' ');
	if (!sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) || strlen(sp2 + 1) != 8)
		return VTD_HTTP_BAD_REQUEST;
	*sp2 = '\0';
	*head = !strcmp(line, "HEAD");
	if (strcmp(line, "GET") && !*head)
		return VTD_HTTP_BAD_METHOD;
	char *q = strchr(target, '?');
	if (q)
		*q = '\0';
	if (strcmp(target, "/metrics"))
		return VTD_HTTP_NOT_FOUND;
	return VTD_HTTP_METRICS;
}

int vtd_http_listen(const char *spec)
{
	char host[64] = "127.0.0.1";
	const char *port;
	const char *colon = strrchr(spec, ':');
	if (!colon) {
		port = spec;
	} else {
		size_t hl = (size_t)(colon - spec);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		port = colon + 1;
	}
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	if (!*port || *end || p == 0 || p > 65535)
		goto bad;

	struct sockaddr_storage ss = {0};
	socklen_t sl;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1 ||
		    !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			goto not_loopback;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		sl = sizeof(*s4);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0) {
		int r = -errno;
		vt_err("metrics_http=%s: %s", spec, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
bad:
	vt_err("metrics_http=%s: expected [HOST:]PORT with a loopback HOST", spec);
	return -EINVAL;
not_loopback:
	vt_err("metrics_http=%s: only loopback addresses are served (127.0.0.0/8, [::1])", spec);
	return -EINVAL;
}
