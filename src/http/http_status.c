/* http_status.c - the status-to-errno table and the transient sets; see
 * http_status.h. */
#include "http_status.h"

#include <errno.h>

#include "http.h"

int http_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
	case 415:
	case 422:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 408:
		return -ETIMEDOUT;
	case 409:
		return -EEXIST;
	case 413:
		return -EFBIG;
	case 429:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

int http_status_transient(long status)
{
	return status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

static int http_write_errno(const struct http_cut *cut)
{
	return cut->write_err < 0 ? cut->write_err : -ENOSPC;
}

int http_curl_errno(CURLcode cc, const struct http_cut *cut)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return cut->failed_write == 2 ? http_write_errno(cut)
		       : cut->stalled	      ? -ETIMEDOUT
		       : cut->read_aborted    ? -ECANCELED
					      : -EIO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		return cut->failed_write == 2 ? http_write_errno(cut) : -EIO;
	default:
		return -EIO;
	}
}

int http_curl_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return 1;
	default:
		return 0;
	}
}
