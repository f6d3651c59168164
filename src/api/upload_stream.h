/*
 * upload_stream.h - a document upload fed by writes as they come: the bytes a
 * writer hands over go through a bounded ring to a request on its own
 * thread (a chunked multipart POST, api_upload_document_stream()), so
 * close() waits only for the tail and the server's answer.
 *
 * Owns: the ring (at most ring_bytes of memory), the upload thread and the
 * request's outcome. Depends on api only.
 *
 * Abandoning: upload_stream_abort() makes the request fail before its final
 * multipart boundary, so the server holds an incomplete body and stores
 * nothing; the caller then uploads from its spool as before.
 *
 * Threads: one writer at a time (change serialises its calls per handle with
 * change_file.up_lock) and the upload thread. u->lock guards the ring
 * and the state; it is never held across HTTP (the upload thread takes it
 * only inside the request's read callback to copy bytes out). A writer
 * blocks while the ring is full, until the connection takes bytes or the
 * request ends.
 *
 * Ownership: strings are copied. upload_stream_finish() hands the result's
 * resource to the caller; upload_stream_free() releases everything else.
 *
 * Where its locks stand among the program's: tree.h, "Lock order".
 */
#ifndef XAIFS_UPLOAD_STREAM_H
#define XAIFS_UPLOAD_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "api.h"

struct upload_stream;

/*
 * Start uploading name into collection cid (replaces: the id of the
 * document it replaces, or NULL). Takes a stream slot (api_stream_begin()):
 * -EBUSY when none is free. Returns 0 or -errno.
 */
int upload_stream_start(struct api *a, const char *cid, const char *name,
			const char *type, const char *replaces,
			size_t ring_bytes, struct upload_stream **out);

/*
 * Hand over n bytes (the next ones of the file). Blocks while the ring is
 * full. Returns 0, or the request's error once it ended early (nothing more
 * can be sent: the caller keeps its spool and reports the error at close).
 */
int upload_stream_write(struct upload_stream *u, const char *buf, size_t n);

/*
 * The end of the file: send fields (compact JSON, model_fields.h; NULL for
 * none) as the `fields` part that follows the data, and wait for the
 * answer. Returns the upload's result (api_upload_document_stream()) with
 * *out filled (res_release() it).
 */
int upload_stream_finish(struct upload_stream *u, const char *fields,
			 struct res *out);

/* Give up: the request is aborted before its final boundary; waits for the
 * thread. */
void upload_stream_abort(struct upload_stream *u);

/* Free a finished or aborted upload (NULL: no-op); gives its slot back. */
void upload_stream_free(struct upload_stream *u);

#endif
