/*
 * Maildir helpers of the mock e-mail provider (sender.c): the host part of
 * file names, directories, a complete file written and fsync'ed in tmp/.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sender_private.h"

void bl__maildir_host(char *out, size_t cap)
{
	char raw[HOST_NAME_MAX + 1] = "localhost";
	if (gethostname(raw, sizeof raw) != 0 || !raw[0])
		strcpy(raw, "localhost");
	raw[sizeof raw - 1] = '\0';
	/* Maildir: '/' → \057, ':' → \072 */
	size_t n = 0;
	for (const char *p = raw; *p && n + 5 < cap && n < 64; p++) {
		if (*p == '/' || *p == ':') {
			n += (size_t)snprintf(out + n, cap - n, "\\%03o", (unsigned char)*p);
		} else if ((unsigned char)*p > ' ' && *p != '.' && (unsigned char)*p < 0x7f) {
			out[n++] = *p;
		} else {
			out[n++] = '_'; /* a dot would break the time.unique.host layout */
		}
	}
	out[n] = '\0';
}

int bl__mkdir_p(const char *path)
{
	char *p = bl__strdup(path);
	if (!p)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = BL_OK;
	for (char *c = p + 1;; c++) {
		if (*c == '/' || *c == '\0') {
			char save = *c;
			*c = '\0';
			if (mkdir(p, 0700) != 0 && errno != EEXIST) {
				rc = bl__fail(BL_EIO, "BILLING_MAILDIR: cannot create directory %s: %s", p,
					      strerror(errno));
				break;
			}
			*c = save;
			if (!save)
				break;
		}
	}
	free(p);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write `data` to tmp/<name> (new file, fsync'ed). */
int bl__maildir_write_tmp(const char *path, const bl_strbuf *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return bl__fail(BL_EIO, "Maildir: cannot create %s: %s", path, strerror(errno));
	if (write_all(fd, data->s, data->len) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return bl__fail(BL_EIO, "Maildir: cannot write %s: %s", path, strerror(e));
	}
	if (close(fd) != 0) {
		int e = errno;
		unlink(path);
		return bl__fail(BL_EIO, "Maildir: cannot write %s: %s", path, strerror(e));
	}
	return BL_OK;
}

