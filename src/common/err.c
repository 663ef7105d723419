/* Error codes of libsrvd and their text. */
#include "srvd/srvd.h"

const char *srvd_strerror(int err)
{
	switch (err) {
	case SRVD_OK: return "success";
	case SRVD_DROP: return "dropped";
	case SRVD_XFR: return "zone transfer";
	case SRVD_ENOMEM: return "out of memory";
	case SRVD_EINVAL: return "invalid argument";
	case SRVD_EIO: return "I/O error";
	case SRVD_EPARSE: return "parse error";
	case SRVD_EZONE: return "zone check failed";
	case SRVD_ESPACE: return "buffer too small";
	case SRVD_EMALFORM: return "malformed message";
	case SRVD_ENOENT: return "not found";
	case SRVD_EEXIST: return "already exists";
	case SRVD_ELIMIT: return "limit reached";
	case SRVD_ENOTSUP: return "not supported";
	default: return "unknown error";
	}
}
