/*
 * names.h - the rule that turns server names into file names.
 *
 * Owns: the display-name rule of docs/semantics.md ("Names"). Pure: no I/O,
 * no locks, no globals; unit-tested and fuzzed.
 *
 * The rule, in order:
 *  1. A missing or empty name, ".", or ".." is replaced by the resource id.
 *  2. Bytes that cannot stand in a file name or would confuse a terminal are
 *     written as %XX (upper-case hex): '/', control bytes 0x01-0x1f and 0x7f,
 *     both bytes of a C1 control character (U+0080-U+009F, UTF-8 C2 80 to
 *     C2 9F, e.g. U+009B -> "%C2%9B"), and every byte of an invalid UTF-8
 *     sequence. Everything else, '%' included, is kept as it is.
 *  3. A name longer than the limit is cut at a UTF-8 boundary and gets the
 *     suffix "~<id>" so it stays unique.
 *  4. When several resources end up with the same name, the one that sorts
 *     first by (mtime, id) keeps it; each other one becomes "<name>~<id>" (cut
 *     as in 3 when needed). Names that collide with reserved names are treated
 *     the same way.
 * The result depends only on the set of resources, not on their order.
 *
 * Details the rule leaves open, fixed here:
 *  - The id in a "~<id>" suffix is itself encoded by rule 2. An id of "." or
 *    ".." that must stand in for a name (rule 1) is escaped byte by byte
 *    ("%2E", "%2E%2E"); an empty id gives "_".
 *  - A name a resource would keep (the first of its group) is never taken by
 *    another resource's "<name>~<id>". When "<name>~<id>" is itself taken
 *    (same id listed twice, or a server name that happens to look like it),
 *    the resource gets "<name>~<id>~<k>" for the smallest free k >= 2, cut
 *    like rule 3. Ties on (mtime, id) are broken by raw_name, then json, so
 *    only identical entries are interchangeable.
 *  - Cuts land on unit boundaries: never inside a UTF-8 character or a %XX,
 *    nor between the two %XX of a C1 control character.
 */
#ifndef XAIFS_NAMES_H
#define XAIFS_NAMES_H

#include <stddef.h>
#include "reslist.h"

#define NAMES_MAX 255 /* NAME_MAX of Linux */

/*
 * Whether name is one the desktop probes for (".Trash", ".Trash-1000",
 * ".hidden", ".xdg-volume-info", "autorun.inf", ".DS_Store", "desktop.ini",
 * "Thumbs.db", ".directory"): such lookups are answered "no such file" at no
 * cost, so a resource with such a name is shown as "<name>~<id>" (rule 4).
 */
int names_is_probe(const char *name);
#define NAMES_MIN 32 /* smaller maxlen values are raised to this */

/*
 * Encode one name by rules 1-3. raw may be NULL. maxlen is the longest
 * allowed result in bytes: 0 or more than NAMES_MAX means NAMES_MAX, less
 * than NAMES_MIN means NAMES_MIN (room for the "~<id>~<k>" suffixes).
 * Returns a malloc'd string the caller frees, or NULL on ENOMEM.
 */
char *names_encode(const char *raw, const char *id, size_t maxlen);

/*
 * Give every entry of l its display name (res.name, replacing any old one)
 * by rules 1-4, then build l's indexes. reserved is a NULL-terminated list of
 * names no entry may take (may be NULL; borrowed). l must not be shared yet.
 * Returns 0 or -ENOMEM (then either no name changed, or all did and only
 * the indexes are missing; lookups still work by scanning).
 */
int names_assign(struct reslist *l, size_t maxlen, const char *const *reserved);

/*
 * A list whose every display name is its server name (names_assign() sets
 * l->names_plain: nothing escaped, cut or renamed for a duplicate) keeps
 * every name when an entry leaves it, and when r joins it (in place of
 * replaced, an entry of l, or NULL) if r would be shown under its own
 * server name: 1 then, else 0. What lets a listing be changed in place
 * without naming every entry again; the result is what names_assign()
 * would give (test_names.c checks it on random lists).
 */
int names_plain_add(const struct reslist *l, const struct res *r,
		    const struct res *replaced, size_t maxlen);

#endif
