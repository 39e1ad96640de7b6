// The shop's API: prices a basket. Invoke it with {"items": [{"price": 2.5, "qty": 2}]}.
interface Basket {
  items?: { price: number; qty: number }[];
}

export const handler = async (event: Basket) => {
  const total = (event.items ?? []).reduce((sum, i) => sum + i.price * i.qty, 0);
  return { total: Math.round(total * 100) / 100, currency: process.env.CURRENCY };
};
