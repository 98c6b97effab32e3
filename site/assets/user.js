// Shows who is signed in. The gateway sets a readable display-name cookie
// next to the HttpOnly session cookies; it holds no credential.
(function () {
  // Only ours: `__Host-` cookies can be set by this host alone, while a
  // sibling subdomain can set a plain `edge-auth-user` for this one.
  var match = document.cookie.match(/(?:^|;\s*)__Host-edge-auth-user=([^;]*)/);
  var slot = document.querySelector('[data-user]');
  if (slot && match) slot.textContent = decodeURIComponent(match[1]);
})();
