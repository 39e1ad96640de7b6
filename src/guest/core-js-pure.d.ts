// Types for the two core-js-pure entry points the isolate runtime uses
// (core-js ships none): they are the WHATWG URL classes, typed as Node's.
declare module 'core-js-pure/web/url.js' {
  const URL: typeof globalThis.URL;
  export default URL;
}
declare module 'core-js-pure/web/url-search-params.js' {
  const URLSearchParams: typeof globalThis.URLSearchParams;
  export default URLSearchParams;
}
