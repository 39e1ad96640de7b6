// Types for the `ms` package (it ships none).
declare module 'ms' {
  export default function ms(value: number, options?: { long?: boolean }): string;
}
