// Glue between the vendored widget manager and the rest of the page (loaded after require.js,
// before @jupyter-widgets/html-manager's embed-amd.js).
(function () {
  // 1. Point the widget manager's AMD modules at the vendored copy, so the fonts it loads
  //    relative to its modules come from this host, whatever the page's depth.
  var root = document.documentElement.dataset.content_root || "";
  var dir = root + "_static/vendor/html-manager";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": dir, "@jupyter-widgets": dir } });
  // 2. The widget manager typesets labels with the MathJax 2 API (MathJax.Hub.Queue) while the
  //    book loads MathJax 3: provide that one call, both before MathJax starts and once it is ready.
  var hub = {
    Queue: function (command) {
      var el = command && command[2];
      if (window.MathJax && window.MathJax.typesetPromise) {
        window.MathJax.typesetPromise(el ? [el] : undefined).catch(function () {});
      }
    },
  };
  var config = (window.MathJax = window.MathJax || {});
  config.Hub = hub;
  var startup = (config.startup = config.startup || {});
  var ready = startup.ready;
  startup.ready = function () {
    if (ready) ready(); else window.MathJax.startup.defaultReady();
    window.MathJax.Hub = hub;
  };
})();
