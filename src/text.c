/* text.c - see comp/text.h */
#include "comp/text.h"

#include <stdint.h>
#include <stdlib.h>

#include "comp/util.h"

size_t comp_utf8_invalid_at(const char *str, size_t len)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t               i = 0;
  while (i < len) {
    unsigned c = s[i];
    size_t   n;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0)
      n = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
      n = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
      n = 4, cp = c & 0x07, min = 0x10000;
    else
      return i;
    if (i + n > len) return i;
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n;
  }
  return len;
}

comp_status comp_text_read(const char *path, char **text, size_t *len)
{
  COMP_CALL(comp_read_file(path, text, len));
  if (*len == 0) {
    free(*text);
    *text = NULL;
    return comp_error_set(COMP_ERR_FORMAT, "%s: the text is empty", path);
  }
  size_t bad = comp_utf8_invalid_at(*text, *len);
  if (bad != *len) {
    free(*text);
    *text = NULL;
    return comp_error_set(COMP_ERR_FORMAT, "%s: not valid UTF-8 (first bad byte at offset %zu)", path, bad);
  }
  return COMP_OK;
}
