/* The new-list form: fill the slug in from the name as the admin types, with the rule the
   server uses when the slug is left empty (newsletter/lists.py, slug_from_name): letters like
   ß spelled out, accents dropped, anything but a-z and 0-9 made one hyphen. Once the admin
   edits the slug themselves it is left alone. Without script the slug may be left empty: the server makes it. */
(function () {
  "use strict";
  var name = document.getElementById("name");
  var slug = document.getElementById("slug");
  if (!name || !slug || !slug.hasAttribute("data-from-name")) {
    return;
  }
  var touched = slug.value !== "";

  var spelledOut = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th"};

  function slugFrom(text) {
    var spelled = text.toLowerCase().replace(/[ßæœøđðłþ]/g, function (c) {
      return spelledOut[c];
    });
    var ascii = spelled.normalize("NFKD").replace(/[^\x00-\x7f]/g, "");
    var made = ascii.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
    return made.slice(0, 60).replace(/-+$/, "");
  }

  slug.addEventListener("input", function () {
    touched = slug.value !== "";
  });
  name.addEventListener("input", function () {
    if (!touched) {
      slug.value = slugFrom(name.value);
    }
  });
})();
