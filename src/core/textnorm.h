/*
 * textnorm.h - Unicode-aware text folding for comparing names: the one
 * normaliser shared by duplicate keys (library/dupes.c) and download
 * matching (downloads/candidates.c).
 *
 * textnorm_fold(): Unicode NFKD, case folding, marks (accents) removed,
 * every run of characters that are not letters or digits (punctuation,
 * symbols, spaces, invalid UTF-8 bytes) becomes one space between words.
 * Letters of every script are kept.  So "Björk" in NFC or NFD, "BJÖRK"
 * and "Bjork" all give "bjork", "AC/DC" gives "ac dc", "Guns N' Roses"
 * gives "guns n roses", "坂本龍一" stays "坂本龍一".
 *
 * textnorm_nfc(): the same text in Unicode NFC (peers' file names are
 * mostly NFC, so that is what a search sends); textnorm_unaccent():
 * NFC with the marks removed but case and other scripts kept ("Björk"
 * -> "Bjork", "坂本龍一" unchanged), the spelling of ASCII-folded shares.
 *
 * Pure functions; any thread.  Input beyond TEXTNORM_INPUT_MAX bytes is
 * ignored.  Each call allocates one utf8proc buffer and frees it before
 * returning.
 */
#ifndef SS_CORE_TEXTNORM_H
#define SS_CORE_TEXTNORM_H

#include <stddef.h>

#define TEXTNORM_INPUT_MAX 2048

/* Writes the folded words of in (NULL = "") joined by one space; at most
 * n-1 bytes, cut on a word boundary.  Returns the length written. */
size_t textnorm_fold(const char *in, char *out, size_t n);

/* NFC and mark-stripped NFC of in; at most n-1 bytes, never cutting a
 * character (invalid UTF-8 bytes become spaces).  Return the length. */
size_t textnorm_nfc(const char *in, char *out, size_t n);
size_t textnorm_unaccent(const char *in, char *out, size_t n);

#endif
