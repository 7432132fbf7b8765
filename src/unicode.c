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

/* The row of the range holding cp in tab (n rows of stride values: first, last, ...), -1 if none */
static long range_row(const uint32_t *tab, size_t n, size_t stride, uint32_t cp)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < tab[mid * stride])
      hi = mid;
    else if (cp > tab[mid * stride + 1])
      lo = mid + 1;
    else
      return (long)mid;
  }
  return -1;
}
#define IN_TABLE(name, cp) (range_row(&uni_##name[0][0], sizeof uni_##name / sizeof uni_##name[0], 2, (cp)) >= 0)

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

int comp_uni_is_punctuation(uint32_t cp)
{
  if (cp < 0x80)
    return (cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) || (cp >= 0x5b && cp <= 0x60) ||
           (cp >= 0x7b && cp <= 0x7e);
  return IN_TABLE(punct, cp);
}

int comp_uni_is_space(uint32_t cp)
{
  if (cp < 0x80) return cp == ' ' || (cp >= 0x9 && cp <= 0xd);
  return IN_TABLE(space, cp);
}

/* ECMAScript's \s is White_Space plus U+FEFF, less U+0085 (NEL) */
int comp_uni_is_white_space(uint32_t cp) { return cp == 0x85 || (cp != 0xfeff && comp_uni_is_space(cp)); }

int comp_uni_nfc_inert(uint32_t cp) { return cp < 0x300 || !IN_TABLE(nfc_unstable, cp); }

comp_uni_case comp_uni_letter_case(uint32_t cp)
{
  if (cp < 0x80)
    return cp >= 'A' && cp <= 'Z' ? COMP_UNI_UPPER : cp >= 'a' && cp <= 'z' ? COMP_UNI_LOWER : COMP_UNI_NONE;
  if (IN_TABLE(upper_title, cp)) return COMP_UNI_UPPER;
  if (IN_TABLE(lower, cp)) return COMP_UNI_LOWER;
  if (IN_TABLE(letter, cp)) return COMP_UNI_OTHER_LETTER;
  return IN_TABLE(mark, cp) ? COMP_UNI_MARK : COMP_UNI_NONE;
}

/* ---- NFC (UAX #15): canonical decomposition, canonical ordering, canonical composition ---------- */

enum { S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7, L_N = 19, V_N = 21, T_N = 28 };
enum { N_N = V_N * T_N, S_N = L_N * N_N };

static int ccc_of(uint32_t cp)
{
  if (cp < 0x300) return 0;
  const long r = range_row(&uni_ccc[0][0], sizeof uni_ccc / sizeof uni_ccc[0], 3, cp);
  return r < 0 ? 0 : (int)uni_ccc[r][2];
}

/* the row of a (first column) or (first, second columns) in a table sorted by them; NULL if none */
static const uint32_t *row_of(const uint32_t (*tab)[3], size_t n, uint32_t a, uint32_t b, int two)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (a < tab[mid][0] || (a == tab[mid][0] && two && b < tab[mid][1]))
      hi = mid;
    else if (a > tab[mid][0] || (two && b > tab[mid][1]))
      lo = mid + 1;
    else
      return tab[mid];
  }
  return NULL;
}

/* Append the full canonical decomposition of cp to w (Hangul syllables by the algorithm) */
static size_t decompose(uint32_t cp, uint32_t *w, size_t k)
{
  if (cp >= S_BASE && cp < S_BASE + S_N) {
    const uint32_t i = cp - S_BASE;
    w[k++]           = L_BASE + i / N_N;
    w[k++]           = V_BASE + i % N_N / T_N;
    if (i % T_N) w[k++] = T_BASE + i % T_N;
    return k;
  }
  const uint32_t *d = cp < 0xC0 ? NULL : row_of(uni_decomp, sizeof uni_decomp / sizeof uni_decomp[0], cp, 0, 0);
  if (!d) return w[k++] = cp, k;
  k = decompose(d[1], w, k);
  return d[2] ? decompose(d[2], w, k) : k;
}

/* The primary composite of (a, b), 0 if none */
static uint32_t compose(uint32_t a, uint32_t b)
{
  if (a >= L_BASE && a < L_BASE + L_N && b >= V_BASE && b < V_BASE + V_N)
    return S_BASE + ((a - L_BASE) * V_N + (b - V_BASE)) * T_N;
  if (a >= S_BASE && a < S_BASE + S_N && (a - S_BASE) % T_N == 0 && b > T_BASE && b < T_BASE + T_N)
    return a + (b - T_BASE);
  const uint32_t *c = row_of(uni_comp, sizeof uni_comp / sizeof uni_comp[0], a, b, 1);
  return c ? c[2] : 0;
}

size_t comp_uni_nfc(const char *in, size_t n, char *out, uint32_t *w)
{
  size_t m = 0, l;
  for (size_t i = 0; i < n; i += l) m = decompose(comp_utf8_next(in + i, n - i, &l), w, m);
  for (size_t i = 1; i < m; i++) { /* canonical ordering: a stable sort of each run of non-starters */
    const uint32_t c = w[i];
    const int      k = ccc_of(c);
    size_t         j = i;
    if (k == 0) continue;
    while (j > 0 && ccc_of(w[j - 1]) > k) w[j] = w[j - 1], j--;
    w[j] = c;
  }
  /* composition (UAX #15's sample): each character joins the last starter unless blocked from it */
  size_t o = 0;
  if (m) {
    size_t starter = 0, kept = 1;
    int    last = ccc_of(w[0]) ? 256 : 0;
    for (size_t i = 1; i < m; i++) {
      const int      k = ccc_of(w[i]);
      const uint32_t c = compose(w[starter], w[i]);
      if (c && (last < k || last == 0)) {
        w[starter] = c;
        continue;
      }
      if (k == 0) starter = kept;
      last      = k;
      w[kept++] = w[i];
    }
    for (size_t i = 0; i < kept; i++) o += comp_utf8_put(out + o, w[i]);
  }
  return o;
}
