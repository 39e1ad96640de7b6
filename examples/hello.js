// A Lambda-style function: handler(event, context) returns the result.
exports.handler = async (event, context) => {
  console.log(`hello invoked as ${context.functionName} v${context.functionVersion}`);
  return { message: `Hello, ${event.name ?? 'world'}!`, requestId: context.awsRequestId };
};
