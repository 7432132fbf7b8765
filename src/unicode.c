/* unicode.c - see comp/unicode.h */
#include "comp/unicode.h"

#include "unicode_tables.inc"

uint32_t comp_utf8_next(const char *str, size_t avail, size_t *n)
{
  const unsigned char *u = (const unsigned char *)str;
  if (u[0] < 0x80) return *n = 1, u[0];
  if ((u[0] & 0xe0) == 0xc0 && avail >= 2) return *n = 2, ((u[0] & 0x1fu) << 6) | (u[1] & 0x3fu);
  if ((u[0] & 0xf0) == 0xe0 && avail >= 3)
    return *n = 3, ((u[0] & 0x0fu) << 12) | ((u[1] & 0x3fu) << 6) | (u[2] & 0x3fu);
  if ((u[0] & 0xf8) == 0xf0 && avail >= 4)
    return *n = 4, ((u[0] & 0x07u) << 18) | ((u[1] & 0x3fu) << 12) | ((u[2] & 0x3fu) << 6) | (u[3] & 0x3fu);
  return *n = 1, u[0]; /* not valid UTF-8: one byte */
}

uint32_t comp_utf8_prev(const char *s, size_t end, size_t *n)
{
  size_t b = end - 1;
  while (b > 0 && end - b < 4 && ((unsigned char)s[b] & 0xc0) == 0x80) b--;
  size_t   l;
  uint32_t cp = comp_utf8_next(s + b, end - b, &l);
  *n          = end - b;
  return cp;
}

size_t comp_utf8_put(char *o, uint32_t cp)
{
  if (cp < 0x80) return o[0] = (char)cp, 1;
  if (cp < 0x800) return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

size_t comp_utf8_lossy(const char *in, size_t n, char *out)
{
  const unsigned char *s = (const unsigned char *)in;
  size_t               i = 0, o = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t   need;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80) {
      out[o++] = (char)c, i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf)
      need = 1;
    else if (c >= 0xe0 && c <= 0xef)
      need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
      need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
      need = 0; /* 0x80..0xc1, 0xf5..0xff never start a sequence */
    size_t k = 1;
    while (need && k <= need && i + k < n) {
      unsigned b = s[i + k];
      if (k == 1 ? (b < lo || b > hi) : (b & 0xc0) != 0x80) break;
      k++;
    }
    if (need && k == need + 1) { /* complete and valid */
      for (size_t j = 0; j < k; j++) out[o++] = (char)s[i + j];
    } else { /* the maximal subpart s[i, i+k) becomes one U+FFFD */
      out[o++] = (char)0xef, out[o++] = (char)0xbf, out[o++] = (char)0xbd;
    }
    i += k;
  }
  return o;
}

static int in_ranges(const uint32_t (*tab)[2], size_t n, uint32_t cp)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < tab[mid][0])
      hi = mid;
    else if (cp > tab[mid][1])
      lo = mid + 1;
    else
      return 1;
  }
  return 0;
}
#define IN_TABLE(name, cp) in_ranges(uni_##name, sizeof uni_##name / sizeof uni_##name[0], (cp))

int comp_uni_is_letter(uint32_t cp)
{
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return IN_TABLE(letter, cp);
}

int comp_uni_is_number(uint32_t cp)
{
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return IN_TABLE(number, cp);
}

int comp_uni_is_space(uint32_t cp)
{
  if (cp < 0x80) return cp == ' ' || (cp >= 0x9 && cp <= 0xd);
  return IN_TABLE(space, cp);
}

/* ECMAScript's \s is White_Space plus U+FEFF, less U+0085 (NEL) */
int comp_uni_is_white_space(uint32_t cp) { return cp == 0x85 || (cp != 0xfeff && comp_uni_is_space(cp)); }

int comp_uni_nfc_inert(uint32_t cp) { return cp < 0x300 || !IN_TABLE(nfc_unstable, cp); }
